// Namespaces as the real server keeps them: registered (at start: "default" and --namespace; then
// RegisterNamespace), described, listed, updated; any call naming another one answers NamespaceNotFound.
import type { Engine, NamespaceState } from './engine.ts';
import { invalidArgument, namespaceAlreadyExists, namespaceNotFound } from './errors.ts';
import type { Handlers } from './grpc-server.ts';
import type { Obj } from './model.ts';
import { dur, durMs } from './model.ts';
import { page } from './paging.ts';
import { DEFAULT_RETENTION_MS } from './retention.ts';

/** namespace.MinRetentionLocal: zero would read as "forever". */
const MIN_RETENTION_MS = 1000;
/** The official frontend's default page for ListNamespaces. */
const NAMESPACES_PAGE = 100;
const NAMESPACE_STATE_REGISTERED = 1;
const ARCHIVAL_STATE_DISABLED = 1;
const REPLICATION_STATE_NORMAL = 1;

function retentionOf(req: Obj | undefined): number | undefined {
  if (!req) return undefined;
  const ms = durMs(req);
  if (ms < MIN_RETENTION_MS) throw invalidArgument('A valid retention period is not set on request.');
  return ms;
}

/** DescribeNamespaceResponse (also each row of ListNamespaces and UpdateNamespace's answer). */
export function describeNamespace(n: NamespaceState): Obj {
  const info = n.info ?? {};
  return {
    namespaceInfo: {
      name: n.name,
      state: NAMESPACE_STATE_REGISTERED,
      description: info.description ?? '',
      ownerEmail: info.ownerEmail ?? '',
      data: info.data ?? {},
      id: n.id,
      capabilities: {
        eagerWorkflowStart: false,
        syncUpdate: true,
        asyncUpdate: true,
        workerPollCompleteOnShutdown: true,
      },
      supportsSchedules: true,
    },
    config: {
      workflowExecutionRetentionTtl: dur(info.retentionMs ?? DEFAULT_RETENTION_MS),
      historyArchivalState: ARCHIVAL_STATE_DISABLED,
      visibilityArchivalState: ARCHIVAL_STATE_DISABLED,
    },
    replicationConfig: {
      activeClusterName: 'active',
      clusters: [{ clusterName: 'active' }],
      state: REPLICATION_STATE_NORMAL,
    },
    failoverVersion: 0,
    isGlobalNamespace: false,
  };
}

export function namespaceHandlers(engine: Engine): Handlers {
  const byRequest = (req: Obj): NamespaceState => {
    if (req.namespace) return engine.namespace(req.namespace);
    if (!req.id) throw invalidArgument('Namespace not set on request.');
    const n = [...engine.namespaces.values()].find((x) => x.id === req.id);
    if (!n) throw namespaceNotFound(req.id);
    return n;
  };
  return {
    DescribeNamespace: (req) => describeNamespace(byRequest(req)),
    ListNamespaces: (req) => {
      const all = [...engine.namespaces.values()].sort((a, b) => a.name.localeCompare(b.name));
      const { rows, nextPageToken } = page(all, req.pageSize || NAMESPACES_PAGE, req.nextPageToken, 1000);
      return { namespaces: rows.map(describeNamespace), nextPageToken };
    },
    RegisterNamespace: (req) => {
      if (!req.namespace) throw invalidArgument('Namespace not set on request.');
      if (engine.namespaces.has(req.namespace)) throw namespaceAlreadyExists();
      const retentionMs = retentionOf(req.workflowExecutionRetentionPeriod ?? {});
      const n = engine.ensureNamespace(req.namespace);
      n.info = {
        description: req.description || undefined,
        ownerEmail: req.ownerEmail || undefined,
        data: req.data && Object.keys(req.data).length > 0 ? { ...req.data } : undefined,
        retentionMs,
      };
      engine.persistNamespaces?.();
      return {};
    },
    UpdateNamespace: (req) => {
      const n = byRequest(req);
      const info = { ...(n.info ?? {}) };
      const u = req.updateInfo;
      if (u) {
        if (u.description) info.description = u.description;
        if (u.ownerEmail) info.ownerEmail = u.ownerEmail;
        // Keys are merged, as the real server does: an update never removes one.
        if (u.data && Object.keys(u.data).length > 0) info.data = { ...(info.data ?? {}), ...u.data };
      }
      const retentionMs = retentionOf(req.config?.workflowExecutionRetentionTtl);
      if (retentionMs !== undefined) info.retentionMs = retentionMs;
      n.info = info;
      engine.persistNamespaces?.();
      return describeNamespace(n);
    },
  };
}
