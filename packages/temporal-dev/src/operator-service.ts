// temporal.api.operatorservice.v1.OperatorService: search attribute registry.
import type { Engine } from './engine.ts';
import { invalidArgument } from './errors.ts';
import type { Handlers } from './grpc-server.ts';
import { SYSTEM_ATTRIBUTES } from './search-attributes.ts';

export function operatorServiceHandlers(engine: Engine): Handlers {
  return {
    AddSearchAttributes: (req) => {
      const ns = engine.namespace(req.namespace || 'default');
      for (const [name, type] of Object.entries(req.searchAttributes ?? {})) {
        if (SYSTEM_ATTRIBUTES[name] !== undefined)
          throw invalidArgument(`search attribute ${name} is reserved by the system`);
        const existing = ns.searchAttributes.get(name);
        if (existing !== undefined && existing !== type) {
          throw invalidArgument(`search attribute ${name} already exists with a different type`);
        }
        ns.searchAttributes.set(name, type as number);
      }
      engine.persistNamespaces?.();
      return {};
    },
    RemoveSearchAttributes: (req) => {
      const ns = engine.namespace(req.namespace || 'default');
      for (const name of req.searchAttributes ?? []) ns.searchAttributes.delete(name);
      return {};
    },
    ListSearchAttributes: (req) => {
      const ns = engine.namespace(req.namespace || 'default');
      return {
        customAttributes: Object.fromEntries(ns.searchAttributes),
        systemAttributes: SYSTEM_ATTRIBUTES,
        storageSchema: {},
      };
    },
    ListNexusEndpoints: () => ({ endpoints: [] }),
  };
}
