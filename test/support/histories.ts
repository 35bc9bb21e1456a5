// Checked-in workflow histories (test/fixtures/histories/<workflow>/), stored protobuf-encoded (the wire form)
// so they replay exactly as recorded. RECORD_HISTORIES=1 makes the replay tests write this run's histories.
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import proto from '@temporalio/proto';

const History = proto.temporal.api.history.v1.History;

export type RecordedHistory = proto.temporal.api.history.v1.IHistory;

export const recordingHistories = process.env.RECORD_HISTORIES === '1';

const dirOf = (workflow: string) =>
  fileURLToPath(new URL(`../fixtures/histories/${workflow}/`, import.meta.url));

/** Writes `history` as `<workflow>/<name>.binpb`. */
export function writeHistoryFixture(workflow: string, name: string, history: RecordedHistory): void {
  const dir = dirOf(workflow);
  mkdirSync(dir, { recursive: true });
  writeFileSync(`${dir}${name}.binpb`, History.encode(history).finish());
}

/** Every checked-in history of `workflow`, decoded, with its file name (the replay's workflow id). */
export function historyFixtures(workflow: string): { file: string; history: RecordedHistory }[] {
  const dir = dirOf(workflow);
  return readdirSync(dir)
    .filter((f) => f.endsWith('.binpb'))
    .map((file) => ({ file, history: History.decode(readFileSync(`${dir}${file}`)) }));
}
