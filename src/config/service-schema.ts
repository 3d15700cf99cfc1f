// The schema of a config file's `services` and `approvals` sections (deploy targets and who may
// approve a deploy), kept apart from the rest of the file schema for size.
import { z } from 'zod';
import { STRATEGIES, type Strategy } from './types.js';
import { prometheusFields, REQUIRED_GATE_KEYS } from './prometheus-schema.js';
import { boolean, duration, integer, k8sName, section, text, userList, value } from './leaf-schemas.js';
import { DEFAULT_ENVIRONMENT } from './defaults.js';
import {
  DNS1035_LABEL,
  ENVIRONMENT_NAME,
  GITHUB_REPO,
  imageProblem,
  isBranchName,
  isK8sLabel,
  parseHttpUrl,
  show,
  showUrl,
} from './values.js';

const canaryStepsSchema = z.array(integer(1, 100, 'a percentage (1-100)')).superRefine((steps, ctx) => {
  if (steps.length === 0) {
    ctx.addIssue({ code: 'custom', message: 'must list at least one step, the last being 100' });
    return;
  }
  for (let i = 1; i < steps.length; i++) {
    if (steps[i]! <= steps[i - 1]!) {
      ctx.addIssue({
        code: 'custom',
        path: [i],
        message: `${steps[i]} is not more than the step before (${steps[i - 1]}); steps must increase strictly`,
      });
      return;
    }
  }
  const last = steps[steps.length - 1]!;
  if (last !== 100) ctx.addIssue({ code: 'custom', message: `the last step must be 100 (got ${last})` });
});

const kubernetesFields = {
  context: text('a kubeconfig context name').optional(),
  namespace: k8sName('namespace'),
  deployment: k8sName('deployment'),
  container: k8sName('container'),
  image: value(
    (v) => (typeof v === 'string' && imageProblem(v) === undefined ? v : undefined),
    (v) => {
      const problem = typeof v === 'string' ? imageProblem(v) : 'malformed';
      if (problem === 'tag') return `${show(v)} must not have a tag (a deploy sets <image>:<version>)`;
      if (problem === 'digest') return `${show(v)} must not have a digest (a deploy sets <image>:<version>)`;
      return `${show(v)} is not an image reference without a tag (e.g. ghcr.io/acme/payments)`;
    },
  ),
  strategy: value(
    (v) => (typeof v === 'string' && (STRATEGIES as readonly string[]).includes(v) ? (v as Strategy) : undefined),
    (v) => `unknown strategy ${show(v)} (${STRATEGIES.join(', ')})`,
  ).optional(),
  service: value(
    (v) => (typeof v === 'string' && isK8sLabel(v, DNS1035_LABEL) ? v : undefined),
    (v) =>
      `${show(v)} is not a valid Kubernetes Service name (lowercase letters, digits and "-", starting with a letter, at most 63 characters)`,
  ).optional(),
  canarySteps: canaryStepsSchema.optional(),
  canaryInterval: duration.optional(),
};

/** Blue-green and canary need the Service in front of the pods. */
function requireService(
  k: { strategy?: Strategy | undefined; service?: string | undefined },
  ctx: z.RefinementCtx,
  path: PropertyKey[],
) {
  const strategy = k.strategy ?? 'rolling';
  if (strategy !== 'rolling' && k.service === undefined) {
    ctx.addIssue({
      code: 'custom',
      path: [...path, 'service'],
      message: `required for the ${strategy} strategy (the Service in front of the pods)`,
    });
  }
}

const kubernetesSchema = z.strictObject(kubernetesFields).superRefine((k, ctx) => requireService(k, ctx, []));

/** An environment's kubernetes: any of the keys, merged over the service's own. */
const kubernetesOverrideSchema = z.strictObject(kubernetesFields).partial();

const healthCheckFields = {
  url: value(
    (v) => (typeof v === 'string' && parseHttpUrl(v) ? v : undefined),
    (v) => `${typeof v === 'string' ? showUrl(v) : show(v)} is not an http(s) URL`,
  ).optional(),
  window: duration.optional(),
};

const healthCheckSchema = section(
  z.strictObject({ ...healthCheckFields, prometheus: z.strictObject(prometheusFields).optional() }),
);

/** An environment's healthCheck: its prometheus keys are merged over the service's, like the rest. */
const healthCheckOverrideSchema = section(
  z.strictObject({ ...healthCheckFields, prometheus: z.strictObject(prometheusFields).partial().optional() }),
);

const branch = value(
  (v) => (typeof v === 'string' && isBranchName(v) ? v : undefined),
  (v) => `${show(v)} is not a valid branch name`,
);

const environmentSchema = section(
  z.strictObject({
    kubernetes: kubernetesOverrideSchema.optional(),
    healthCheck: healthCheckOverrideSchema,
  }),
);

const REQUIRED_TARGET_KEYS = ['namespace', 'deployment', 'container', 'image'] as const;

export const serviceSchema = section(
  z
    .strictObject({
      repo: value(
        (v) => (typeof v === 'string' && GITHUB_REPO.test(v) ? v : undefined),
        (v) => `${show(v)} is not a GitHub repository (use owner/name)`,
      ).optional(),
      productionBranch: branch.optional(),
      developBranch: branch.optional(),
      hotfixFrom: value(
        (v) => (v === 'branch' || v === 'latest-tag' ? v : undefined),
        (v) => `${show(v)} is not one of branch, latest-tag`,
      ).optional(),
      kubernetes: kubernetesSchema.optional(),
      healthCheck: healthCheckSchema,
      environments: z
        .record(
          z.string().regex(ENVIRONMENT_NAME, {
            error:
              'invalid environment name (letters, digits, "_", "." and "-", starting with a letter or digit, at most 63 characters)',
          }),
          environmentSchema,
        )
        .optional(),
    })
    .superRefine((s, ctx) => {
      for (const [name, environment] of Object.entries(s.environments ?? {})) {
        const path = ['environments', name];
        if (name === DEFAULT_ENVIRONMENT) {
          ctx.addIssue({
            code: 'custom',
            path,
            message: `${DEFAULT_ENVIRONMENT} is the service's own kubernetes target: set it under kubernetes, not environments`,
          });
          continue;
        }
        const gates = environment.healthCheck.prometheus;
        if (gates) {
          const mergedGates = { ...s.healthCheck.prometheus, ...gates };
          const missingGate = REQUIRED_GATE_KEYS.find((key) => mergedGates[key] === undefined);
          if (missingGate) {
            ctx.addIssue({
              code: 'custom',
              path: [...path, 'healthCheck', 'prometheus', missingGate],
              message: "required (the service's healthCheck has no prometheus to merge over)",
            });
            continue;
          }
        }
        const merged = { ...s.kubernetes, ...environment.kubernetes };
        if (!s.kubernetes && !environment.kubernetes) {
          ctx.addIssue({
            code: 'custom',
            path,
            message:
              'no kubernetes target: give this environment a kubernetes mapping, or the service one to merge over',
          });
          continue;
        }
        const missing = REQUIRED_TARGET_KEYS.find((key) => merged[key] === undefined);
        if (missing) {
          ctx.addIssue({
            code: 'custom',
            path: [...path, 'kubernetes', missing],
            message: "required (the service's kubernetes has none to merge over)",
          });
          continue;
        }
        requireService(merged, ctx, [...path, 'kubernetes']);
      }
    }),
);

export const approvalSchema = z
  .strictObject({
    approvers: userList,
    required: integer(1, 1000, 'a number of approvals (at least 1)').optional(),
    allowSelfApproval: boolean.optional(),
    expiresAfter: duration.optional(),
  })
  .superRefine((a, ctx) => {
    if (a.approvers.length === 0) {
      ctx.addIssue({ code: 'custom', path: ['approvers'], message: 'must list at least one approver' });
      return;
    }
    const seen = new Set<string>();
    for (const [i, approver] of a.approvers.entries()) {
      if (seen.has(approver)) {
        ctx.addIssue({ code: 'custom', path: ['approvers', i], message: `${show(approver)} is listed twice` });
        return;
      }
      seen.add(approver);
    }
    const required = a.required ?? 1;
    if (required > a.approvers.length) {
      const n = a.approvers.length;
      ctx.addIssue({
        code: 'custom',
        path: ['required'],
        message: `${required} is more than the ${n} approver${n === 1 ? '' : 's'} listed`,
      });
    }
  });
