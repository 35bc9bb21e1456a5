// Operator routes of the manual provider: export queued payouts as CSV for offline processing, import the
// results, which become provider events signalled to each payout's workflow.
import { z } from 'zod';
import { ApiError } from '../../http/errors.ts';
import { type DeliverProviderEvent, inHandOverOrder } from '../../payouts/late-return.ts';
import { ManualProvider } from '../../providers/manual/provider.ts';
import type { ProviderRegistry } from '../../providers/registry.ts';
import { defineRoute, type Route } from '../route.ts';

const nameParams = z.strictObject({
  name: z
    .string()
    .regex(/^[a-z0-9_-]{1,50}$/, 'must be a configured provider name')
    .describe('Provider name'),
});

export function providerRoutes(deps: {
  providers: ProviderRegistry;
  deliver: DeliverProviderEvent;
}): Route[] {
  const manual = (name: string): ManualProvider => {
    const p = deps.providers.get(name);
    if (!p) throw new ApiError('not_found', `provider ${name} is not configured`);
    if (!(p instanceof ManualProvider))
      throw new ApiError('unprocessable', `provider ${name} is not a manual provider`);
    return p;
  };
  return [
    defineRoute({
      method: 'get',
      path: '/v1/providers/:name/export.csv',
      summary: 'Export payouts queued at a manual provider (marks them exported)',
      tags: ['providers'],
      roles: ['operator'],
      params: nameParams,
      query: z.strictObject({
        includeExported: z
          .enum(['true', 'false'])
          .optional()
          .describe('Re-export rows exported before and not yet resolved'),
      }),
      responses: {
        200: { description: 'RFC 4180 CSV; fill outcome and reason, then import', contentType: 'text/csv' },
      },
      handler: async (ctx) => {
        const { csv, count } = await manual(ctx.params.name).exportQueued({
          includeExported: ctx.query.includeExported === 'true',
        });
        await ctx.audit({
          action: 'provider.manual_export',
          objectType: 'provider',
          objectId: ctx.params.name,
          details: { count },
        });
        return {
          status: 200,
          body: csv,
          headers: { 'content-disposition': `attachment; filename="${ctx.params.name}-payouts.csv"` },
        };
      },
    }),
    defineRoute({
      method: 'post',
      path: '/v1/providers/:name/import',
      summary:
        'Import manual payout results (paid/failed, later returned, per row); each result is signalled to its payout',
      tags: ['providers'],
      roles: ['operator'],
      params: nameParams,
      body: z
        .strictObject({
          csv: z
            .string()
            .min(1)
            .max(5_000_000)
            .describe('CSV with payout_id,idempotency_key,outcome,reason (header optional)'),
        })
        .meta({ id: 'ManualImport', description: 'Results of offline payouts' }),
      // The CSV body is the one field where line breaks belong.
      multilineFields: ['csv'],
      responses: {
        200: {
          description: 'Applied and signalled',
          schema: z
            .object({
              applied: z.number().int().describe('Rows that changed a payout'),
              unchanged: z.number().int().describe('Rows already imported before'),
              signalled: z.number().int().describe('Events handed to payout workflows'),
            })
            .meta({ id: 'ManualImportResult', description: 'What an import did' }),
        },
        400: { description: 'Invalid rows (line numbers in errors[]); nothing applied' },
      },
      // The import commits in its own transaction and is then signalled, so no request transaction may stay
      // open around it: on the embedded database (one session) the import would wait for that transaction
      // forever, and on PostgreSQL the workflows could be signalled before the rows they read are committed.
      // Re-importing returns the same events (stable ids), so a retry after a crash signals them again.
      idempotencyMode: 'lease',
      handler: async (ctx) => {
        const result = await manual(ctx.params.name).importResults(ctx.body.csv);
        if (!result.ok) {
          throw new ApiError(
            'validation_failed',
            `${result.errors.length} invalid row(s); nothing was imported`,
            { errors: result.errors.map((e) => ({ path: `csv.line.${e.line}`, message: e.message })) },
          );
        }
        let signalled = 0;
        for (const e of inHandOverOrder(result.events)) {
          if ((await deps.deliver(ctx.params.name, e)) === 'delivered') signalled++;
        }
        await ctx.audit({
          action: 'provider.manual_import',
          objectType: 'provider',
          objectId: ctx.params.name,
          details: { applied: result.applied, unchanged: result.unchanged, signalled },
        });
        return { status: 200, body: { applied: result.applied, unchanged: result.unchanged, signalled } };
      },
    }),
  ];
}
