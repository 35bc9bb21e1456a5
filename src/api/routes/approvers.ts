// Operator actions on approvers' two-factor: lifting a lockout after too many wrong TOTP codes.
import { z } from 'zod';
import { unlockApproverTotp } from '../../auth/totp-lockout.ts';
import { ApiError } from '../../http/errors.ts';
import { defineRoute, type Route } from '../route.ts';

const unlockView = z
  .object({
    actor: z.string().describe('Approver whose TOTP lock was cleared'),
    wasLockedUntil: z.string().nullable().describe('The lock that was lifted (ISO 8601), or null if none'),
    failedAttempts: z.number().int().describe('Wrong codes counted before the unlock (now 0)'),
  })
  .meta({ id: 'ApproverTotpUnlock', description: "An approver's TOTP lock, lifted" });

export function approverRoutes(): Route[] {
  return [
    defineRoute({
      method: 'post',
      path: '/v1/approvers/:actor/totp/unlock',
      summary: "Lift an approver's TOTP lockout and clear the wrong-code count",
      description:
        'After 5 wrong TOTP codes an approver is locked out (5 min, doubling with each further lock, at most a day). An operator can lift the lock once the approver is known to hold their device; audited as approver.totp_unlocked.',
      tags: ['auth'],
      roles: ['operator'],
      params: z.strictObject({
        actor: z
          .string()
          .regex(/^[A-Za-z0-9._@:-]{1,100}$/, 'must be an approver actor name')
          .describe('Approver actor (as in their API key)'),
      }),
      responses: { 200: { description: 'Unlocked', schema: unlockView } },
      handler: async (ctx) => {
        const before = await unlockApproverTotp(ctx.em, ctx.params.actor);
        if (!before) throw new ApiError('not_found', `Approver ${ctx.params.actor} has no TOTP enrolled`);
        const wasLockedUntil =
          before.lockedUntil && before.lockedUntil > ctx.now ? before.lockedUntil.toISOString() : null;
        await ctx.audit({
          action: 'approver.totp_unlocked',
          objectType: 'approver',
          objectId: ctx.params.actor,
          details: { wasLockedUntil, failedAttempts: before.failedAttempts },
        });
        return {
          status: 200,
          body: { actor: ctx.params.actor, wasLockedUntil, failedAttempts: before.failedAttempts },
        };
      },
    }),
  ];
}
