// The description firelane gives a GitHub deployment status: at most 140 characters, never half an emoji.
import { describe, expect, it } from 'vitest';
import { githubText } from '../../../src/jobs/github-deploys.js';

describe('githubText', () => {
  it('cuts at 140 code points without leaving half of a surrogate pair', () => {
    const reason = `${'x'.repeat(139)}🔥 after the cut`;
    const text = githubText(reason);
    expect(text).toBe(`${'x'.repeat(139)}🔥`);
    expect(text).not.toMatch(/[\uD800-\uDBFF](?![\uDC00-\uDFFF])/);
    expect(Array.from(text)).toHaveLength(140);
  });

  it('leaves a short text as it is', () => {
    expect(githubText('REQ-7 failed: pods crash looping')).toBe('REQ-7 failed: pods crash looping');
  });
});
