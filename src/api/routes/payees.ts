// Payee registry routes: register, read, update, destinations.
import { z } from 'zod';
import type { Principal } from '../../auth/principal.ts';
import { ApiError } from '../../http/errors.ts';
import { type DestinationKind, destinationKinds, destinationSchemas } from '../../payees/destinations.ts';
import {
  createPayeeBody,
  destinationView,
  payeeIdSchema,
  payeeView,
  updatePayeeBody,
} from '../../payees/schemas.ts';
import type { PayeeService } from '../../payees/service.ts';
import { defineRoute, type Route } from '../route.ts';

const payeeParams = z.strictObject({ id: payeeIdSchema });
const destinationParams = z.strictObject({
  id: payeeIdSchema,
  kind: z.enum(destinationKinds).describe('Destination kind: bank_account, wallet, card or crypto'),
});

const destinationBody = z
  .union([
    destinationSchemas.bank_account,
    destinationSchemas.wallet,
    destinationSchemas.card,
    destinationSchemas.crypto,
  ])
  .describe('Destination fields for the kind in the path (see each variant)');

const putDestinationResponse = z
  .object({
    destination: destinationView,
    change: z.enum(['added', 'changed', 'unchanged']).describe('What this request did'),
  })
  .meta({ id: 'DestinationChangeResult', description: 'The stored destination (masked) and what changed' });

function actorOf(p: Principal): string {
  return p.actor;
}

export function payeeRoutes(deps: { payees: PayeeService }): Route[] {
  const { payees } = deps;
  return [
    defineRoute({
      method: 'post',
      path: '/v1/payees',
      summary: 'Register a payee',
      tags: ['payees'],
      roles: ['platform'],
      body: createPayeeBody,
      responses: { 201: { description: 'Payee registered', schema: payeeView, headers: ['Location'] } },
      handler: async (ctx) => {
        const payee = await payees.create(ctx.em, ctx.body);
        await ctx.audit({
          action: 'payee.create',
          objectType: 'payee',
          objectId: payee.id,
          details: { externalId: payee.externalId },
        });
        return { status: 201, body: payee, headers: { Location: `/v1/payees/${payee.id}` } };
      },
    }),
    defineRoute({
      method: 'get',
      path: '/v1/payees/:id',
      summary: 'Read a payee (destinations masked)',
      tags: ['payees'],
      roles: ['platform', 'operator', 'approver', 'payee'],
      payeeParam: 'id',
      params: payeeParams,
      responses: { 200: { description: 'The payee', schema: payeeView } },
      handler: async (ctx) => ({ status: 200, body: await payees.get(ctx.em, ctx.params.id) }),
    }),
    defineRoute({
      method: 'patch',
      path: '/v1/payees/:id',
      summary: 'Update a payee (a payee token may change its payout preferences only)',
      tags: ['payees'],
      roles: ['platform', 'payee'],
      payeeParam: 'id',
      params: payeeParams,
      body: updatePayeeBody,
      responses: { 200: { description: 'The updated payee', schema: payeeView } },
      handler: async (ctx) => {
        if (ctx.principal.role === 'payee') {
          const others = Object.keys(ctx.body).filter((k) => k !== 'payoutPreferences');
          if (others.length > 0) {
            throw new ApiError(
              'forbidden',
              `A payee token may only change payoutPreferences (not ${others.join(', ')})`,
            );
          }
        }
        const payee = await payees.update(ctx.em, ctx.params.id, ctx.body);
        await ctx.audit({
          action: 'payee.update',
          objectType: 'payee',
          objectId: payee.id,
          details: { fields: Object.keys(ctx.body) },
        });
        return { status: 200, body: payee };
      },
    }),
    defineRoute({
      method: 'put',
      path: '/v1/payees/:id/destinations/:kind',
      summary: 'Add or replace the payee destination of a kind (stored encrypted, returned masked)',
      description:
        'The body is the variant for the kind in the path. Adding or changing a destination is recorded with a ' +
        'timestamp; payouts to a destination changed within the cool-off window go to review.',
      tags: ['payees'],
      roles: ['platform', 'payee'],
      payeeParam: 'id',
      params: destinationParams,
      body: destinationBody,
      bodyByParam: { param: 'kind', schemas: destinationSchemas },
      responses: { 200: { description: 'Destination stored', schema: putDestinationResponse } },
      handler: async (ctx) => {
        const kind = ctx.params.kind as DestinationKind;
        const result = await payees.putDestination(
          ctx.em,
          ctx.params.id,
          kind,
          ctx.body,
          actorOf(ctx.principal),
        );
        if (result.change !== 'unchanged') {
          await ctx.audit({
            action: `payee.destination.${result.change === 'added' ? 'add' : 'change'}`,
            objectType: 'payee',
            objectId: ctx.params.id,
            details: { kind, masked: result.destination.masked },
          });
        }
        return { status: 200, body: result };
      },
    }),
  ];
}
