// The BuildIds and BinaryChecksums search attributes, kept as the real server does at each workflow task
// completion: BuildIds starts with the "unversioned" sentinel for an unversioned worker and holds each
// completing worker's stamp once ("unversioned:<id>", "versioned:<id>"; a worker without a stamp, as
// the TypeScript SDK sends, is just "unversioned"); BinaryChecksums lists the workers' checksums.
import type { Obj, Payload, Run } from './model.ts';

const UNVERSIONED = 'unversioned';

function readList(p: Payload | undefined): string[] {
  if (!p?.data) return [];
  try {
    const parsed = JSON.parse(Buffer.from(p.data).toString('utf8'));
    return (Array.isArray(parsed) ? parsed : [parsed]).filter((v): v is string => typeof v === 'string');
  } catch {
    return [];
  }
}

function keywordList(values: string[]): Payload {
  return {
    metadata: { encoding: Buffer.from('json/plain'), type: Buffer.from('KeywordList') },
    data: Buffer.from(JSON.stringify(values)),
  };
}

/** worker_versioning.VersionStampToBuildIdSearchAttribute */
export function stampValue(stamp: Obj | undefined): string {
  if (!stamp?.buildId) return UNVERSIONED;
  return `${stamp.useVersioning ? 'versioned' : 'unversioned'}:${stamp.buildId}`;
}

/** Adds what a RespondWorkflowTaskCompleted request says about its worker to the run's search attributes. */
export function recordBuildId(run: Run, req: Obj): void {
  const stamp = req.workerVersionStamp;
  const value = stampValue(stamp);
  const existing = readList(run.searchAttributes.BuildIds);
  const next = stamp?.useVersioning ? [] : [UNVERSIONED];
  for (const v of existing) if (v !== UNVERSIONED && !v.startsWith('assigned:')) next.push(v);
  if (!next.includes(value)) next.push(value);
  if (JSON.stringify(next) !== JSON.stringify(existing)) run.searchAttributes.BuildIds = keywordList(next);
  const checksum: string = req.binaryChecksum ?? '';
  const checksums = readList(run.searchAttributes.BinaryChecksums);
  if (checksum && !checksums.includes(checksum))
    run.searchAttributes.BinaryChecksums = keywordList([...checksums, checksum]);
}
