// Payee-scoped tokens, issued by the platform for its payee-facing front ends, and their revocation (one by
// id, or every token of a payee issued before a time).
import { z } from 'zod';
import {
  issuePayeeToken,
  recordPayeeToken,
  revokePayeeToken,
  revokePayeeTokensBefore,
} from '../../auth/payee-tokens.ts';
import { ApiError } from '../../http/errors.ts';
import { payeeIdSchema } from '../../payees/schemas.ts';
import type { PayeeService } from '../../payees/service.ts';
import { defineRoute, type Route } from '../route.ts';

const tokenBody = z
  .strictObject({
    ttlSeconds: z
      .number()
      .int()
      .min(60)
      .max(7 * 24 * 3600)
      .optional()
      .describe(
        'Lifetime in seconds (default DISBURSE_PAYEE_TOKEN_TTL_SECONDS; at most DISBURSE_PAYEE_TOKEN_MAX_TTL_SECONDS, which defaults to the same)',
      ),
  })
  .meta({ id: 'IssuePayeeToken', description: 'Options of a payee token' });

const tokenView = z
  .object({
    token: z.string().describe('Bearer token (dpt_…); give it to the payee-facing client only'),
    tokenId: z.string().describe('Token id, for audit'),
    payeeId: z.string().describe('Payee the token is scoped to'),
    expiresAt: z.string().describe('Expiry (ISO 8601)'),
  })
  .meta({ id: 'PayeeToken', description: 'A payee-scoped bearer token' });

const tokenIdSchema = z
  .string()
  .regex(/^[A-Za-z0-9_-]{1,64}$/, 'must be a token id (tokenId of the issued token)')
  .describe('Token id (tokenId when it was issued)');
// Kept in the audit log's jsonb, which refuses a lone surrogate: refused here as 400 instead of a 500 there.
const reason = z
  .string()
  .min(1)
  .max(500)
  .refine((s) => !/\p{Cs}/u.test(s), 'must be well-formed Unicode (no lone surrogate)')
  .optional()
  .describe('Why (kept in the audit log)');

const revokeOneBody = z
  .strictObject({ reason })
  .meta({ id: 'RevokePayeeToken', description: 'Revocation of one payee token' });

const revokeAllBody = z
  .strictObject({
    issuedBefore: z.iso
      .datetime({ offset: true })
      .optional()
      .describe(
        'Refuse every token of the payee issued before this instant (default: now; not in the future)',
      ),
    reason,
  })
  .meta({ id: 'RevokePayeeTokens', description: "Revocation of a payee's tokens issued before an instant" });

const revokedView = z
  .object({
    tokenId: z.string().describe('Token id'),
    payeeId: z.string().describe('Payee the token was scoped to'),
    issuedAt: z.string().describe('When it was issued (ISO 8601)'),
    expiresAt: z.string().describe('When it would have expired (ISO 8601)'),
    revokedAt: z.string().describe('When it was revoked (the first revocation, if revoked twice)'),
    revokedBy: z.string().describe('Actor who revoked it'),
  })
  .meta({ id: 'RevokedPayeeToken', description: 'A revoked payee token' });

const cutoffView = z
  .object({
    payeeId: z.string().describe('Payee whose tokens are refused'),
    notBefore: z
      .string()
      .describe('Tokens of this payee issued before this instant are refused (the latest cutoff given)'),
    revokedTokens: z.number().int().describe('Live tokens this call revoked'),
  })
  .meta({ id: 'PayeeTokenCutoff', description: "A payee's token cutoff" });

const propagation =
  'Takes effect at once on the database; an API process that checked the token less than API_KEY_CACHE_SECONDS ago keeps honouring it until then.';

export function tokenRoutes(deps: {
  payees: PayeeService;
  /** Schema of the payee_tokens tables. */
  schema: string;
  tokenSigningKey: Buffer;
  defaultTtlSeconds: number;
  maxTtlSeconds: number;
}): Route[] {
  return [
    defineRoute({
      method: 'post',
      path: '/v1/payees/:id/tokens',
      summary: 'Issue a payee-scoped token (sees only this payee)',
      tags: ['auth'],
      roles: ['platform'],
      payeeParam: 'id',
      params: z.strictObject({ id: payeeIdSchema }),
      body: tokenBody,
      sensitiveResponse: true,
      responses: {
        201: { description: 'Token issued (Cache-Control: no-store)', schema: tokenView },
        422: { description: 'ttlSeconds above the configured maximum' },
      },
      handler: async (ctx) => {
        if (!(await deps.payees.exists(ctx.em, ctx.params.id))) {
          throw new ApiError('not_found', `Payee ${ctx.params.id} not found`);
        }
        // The configured lifetime is a ceiling too: a caller cannot ask for a token that outlives it.
        if (ctx.body.ttlSeconds !== undefined && ctx.body.ttlSeconds > deps.maxTtlSeconds) {
          throw new ApiError(
            'unprocessable',
            `ttlSeconds ${ctx.body.ttlSeconds} exceeds the maximum of ${deps.maxTtlSeconds} s (DISBURSE_PAYEE_TOKEN_MAX_TTL_SECONDS)`,
            {
              errors: [
                {
                  path: 'body.ttlSeconds',
                  message: `must be at most ${deps.maxTtlSeconds}`,
                  code: 'too_big',
                },
              ],
            },
          );
        }
        const ttl = Math.min(ctx.body.ttlSeconds ?? deps.defaultTtlSeconds, deps.maxTtlSeconds);
        const issued = issuePayeeToken(deps.tokenSigningKey, ctx.params.id, ttl, ctx.now);
        await recordPayeeToken(ctx.em, deps.schema, {
          payeeId: ctx.params.id,
          issued,
          issuedBy: ctx.principal.actor,
        });
        await ctx.audit({
          action: 'payee.token.issue',
          objectType: 'payee',
          objectId: ctx.params.id,
          details: { tokenId: issued.tokenId, expiresAt: issued.expiresAt.toISOString() },
        });
        return {
          status: 201,
          body: {
            token: issued.token,
            tokenId: issued.tokenId,
            payeeId: ctx.params.id,
            expiresAt: issued.expiresAt.toISOString(),
          },
        };
      },
    }),
    defineRoute({
      method: 'post',
      path: '/v1/payees/:id/tokens/:tokenId/revoke',
      summary: 'Revoke one payee token',
      description: propagation,
      tags: ['auth'],
      roles: ['platform', 'operator'],
      payeeParam: 'id',
      idempotency: 'optional',
      params: z.strictObject({ id: payeeIdSchema, tokenId: tokenIdSchema }),
      body: revokeOneBody,
      responses: {
        200: {
          description: 'Revoked (or already revoked: the first revocation is returned)',
          schema: revokedView,
        },
        404: { description: 'The payee has no such token' },
      },
      handler: async (ctx) => {
        const revoked = await revokePayeeToken(ctx.em, deps.schema, {
          payeeId: ctx.params.id,
          tokenId: ctx.params.tokenId,
          by: ctx.principal.actor,
          at: ctx.now,
        });
        if (!revoked) {
          throw new ApiError('not_found', `Payee ${ctx.params.id} has no token ${ctx.params.tokenId}`);
        }
        await ctx.audit({
          action: 'payee.token.revoke',
          objectType: 'payee',
          objectId: ctx.params.id,
          details: {
            tokenId: revoked.tokenId,
            alreadyRevoked: !revoked.revokedNow,
            ...(ctx.body.reason ? { reason: ctx.body.reason } : {}),
          },
        });
        return {
          status: 200,
          body: {
            tokenId: revoked.tokenId,
            payeeId: revoked.payeeId,
            issuedAt: revoked.issuedAt.toISOString(),
            expiresAt: revoked.expiresAt.toISOString(),
            revokedAt: revoked.revokedAt.toISOString(),
            revokedBy: revoked.revokedBy,
          },
        };
      },
    }),
    defineRoute({
      method: 'post',
      path: '/v1/payees/:id/tokens/revoke',
      summary: 'Revoke every token of a payee issued before an instant (default now)',
      description: propagation,
      tags: ['auth'],
      roles: ['platform', 'operator'],
      payeeParam: 'id',
      idempotency: 'optional',
      params: z.strictObject({ id: payeeIdSchema }),
      body: revokeAllBody,
      responses: {
        200: { description: 'Cutoff in force', schema: cutoffView },
        404: { description: 'No such payee' },
        422: { description: 'issuedBefore is in the future' },
      },
      handler: async (ctx) => {
        if (!(await deps.payees.exists(ctx.em, ctx.params.id))) {
          throw new ApiError('not_found', `Payee ${ctx.params.id} not found`);
        }
        const before = ctx.body.issuedBefore ? new Date(ctx.body.issuedBefore) : ctx.now;
        // A future cutoff would also refuse tokens issued from now until then: issue none instead.
        if (before.getTime() > ctx.now.getTime()) {
          throw new ApiError('unprocessable', `issuedBefore ${ctx.body.issuedBefore} is in the future`, {
            errors: [{ path: 'body.issuedBefore', message: 'must not be in the future', code: 'too_big' }],
          });
        }
        const { notBefore, revoked } = await revokePayeeTokensBefore(ctx.em, deps.schema, {
          payeeId: ctx.params.id,
          before,
          by: ctx.principal.actor,
          at: ctx.now,
        });
        await ctx.audit({
          action: 'payee.token.revoke_all',
          objectType: 'payee',
          objectId: ctx.params.id,
          details: {
            issuedBefore: before.toISOString(),
            notBefore: notBefore.toISOString(),
            revokedTokens: revoked,
            ...(ctx.body.reason ? { reason: ctx.body.reason } : {}),
          },
        });
        return {
          status: 200,
          body: { payeeId: ctx.params.id, notBefore: notBefore.toISOString(), revokedTokens: revoked },
        };
      },
    }),
  ];
}
