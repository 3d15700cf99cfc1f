// An alert group's state across deliveries: merged by fingerprint, and resolved only when nothing cut
// from a delivery can still be firing.
import { describe, expect, it } from 'vitest';
import type { Alert } from '../../../src/domain/alert.js';
import { groupStatus, mergeAlerts, type AlertState } from '../../../src/domain/alert-group.js';

const alert = (fingerprint: string, status: Alert['status'], endsAt = ''): Alert => ({
  status,
  labels: {},
  annotations: {},
  startsAt: '2026-12-07T13:00:00Z',
  endsAt,
  generatorURL: '',
  fingerprint,
});
const state = (status: AlertState['status']): AlertState => ({ status, startsAt: 's', endsAt: 'e' });

describe('mergeAlerts', () => {
  it('updates the alerts sent and keeps the others as they were', () => {
    const known = { a: state('firing'), b: state('firing') };
    const merged = mergeAlerts(known, [alert('a', 'resolved', 'then'), alert('c', 'firing')]);
    expect(merged).toEqual({
      a: { status: 'resolved', startsAt: '2026-12-07T13:00:00Z', endsAt: 'then' },
      b: state('firing'),
      c: { status: 'firing', startsAt: '2026-12-07T13:00:00Z', endsAt: '' },
    });
    expect(known.a.status).toBe('firing');
  });
});

describe('groupStatus', () => {
  it('is resolved when Alertmanager says so and cut nothing', () => {
    expect(groupStatus({ status: 'resolved', truncatedAlerts: 0 }, { a: state('resolved') })).toBe('resolved');
  });

  it('is never resolved by a truncated delivery, whatever it says', () => {
    expect(groupStatus({ status: 'resolved', truncatedAlerts: 3 }, { a: state('resolved') })).toBe('firing');
  });

  it('is resolved when every alert the group has had is resolved', () => {
    expect(groupStatus({ status: 'firing', truncatedAlerts: 0 }, { a: state('resolved'), b: state('resolved') })).toBe(
      'resolved',
    );
    expect(groupStatus({ status: 'firing', truncatedAlerts: 0 }, { a: state('resolved'), b: state('firing') })).toBe(
      'firing',
    );
    expect(groupStatus({ status: 'firing', truncatedAlerts: 0 }, {})).toBe('firing');
  });
});
