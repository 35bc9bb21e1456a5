// Who is calling: a role-bearing API key (server-to-server, approvers, operators) or a payee-scoped token.

export const apiKeyRoles = ['platform', 'approver', 'operator'] as const;
export type ApiKeyRole = (typeof apiKeyRoles)[number];
export type Role = ApiKeyRole | 'payee';

export type Principal =
  | { kind: 'api_key'; role: ApiKeyRole; actor: string; keyId: string }
  | { kind: 'payee_token'; role: 'payee'; actor: string; payeeId: string; tokenId: string };

/**
 * Object-level access to one payee's data. API keys are tenant-wide (one platform per deployment); a payee
 * token only ever sees its own payee.
 */
export function canAccessPayee(principal: Principal, payeeId: string): boolean {
  return principal.kind === 'api_key' || principal.payeeId === payeeId;
}
