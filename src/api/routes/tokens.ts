// Payee-scoped tokens, issued by the platform for its payee-facing front ends.
import { z } from 'zod';
import { issuePayeeToken } from '../../auth/payee-tokens.ts';
import { payeeIdSchema } from '../../payees/schemas.ts';
import type { PayeeService } from '../../payees/service.ts';
import { ApiError } from '../errors.ts';
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

export function tokenRoutes(deps: {
  payees: PayeeService;
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
  ];
}
