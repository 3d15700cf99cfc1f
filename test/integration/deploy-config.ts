// The payments service as the deploy tests configure it (rolling, a 1 s health window on the real clock).
export const IMAGE = 'ghcr.io/acme/payments';
export const PAYMENTS = { namespace: 'payments', deployment: 'payments' };
export const CHANNEL = 'C0GENERAL';

export function deployYaml(approvers: string[]): string {
  return `incidents:
  announceChannel: C0INCIDENTS
  escalationChannel: C0ESCALATE
services:
  payments:
    repo: acme/payments
    kubernetes:
      namespace: payments
      deployment: payments
      container: app
      image: ${IMAGE}
      strategy: rolling
    healthCheck:
      window: 1s   # the health window runs on the real clock here
approvals:
  production:
    approvers: [${approvers.join(', ')}]
    required: 1
    allowSelfApproval: false
    expiresAfter: 30m
`;
}
