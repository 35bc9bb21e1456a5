// Checked-in workflow histories (test/fixtures/histories/<workflow>/), as JSON (the history proto as an
// object: enum names, 64-bit numbers and bytes as strings), so a change to one reads in review. Not
// @temporalio/common's historyToJSON: it runs on its own copy of protobufjs and refuses the History type of
// @temporalio/proto.
// RECORD_HISTORIES=1 makes the replay tests write this run's histories.
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import proto from '@temporalio/proto';

const History = proto.temporal.api.history.v1.History;

export type RecordedHistory = proto.temporal.api.history.v1.IHistory;

export const recordingHistories = process.env.RECORD_HISTORIES === '1';

const dirOf = (workflow: string) =>
  fileURLToPath(new URL(`../fixtures/histories/${workflow}/`, import.meta.url));

/** Writes `history` as `<workflow>/<name>.json`. */
export function writeHistoryFixture(workflow: string, name: string, history: RecordedHistory): void {
  const dir = dirOf(workflow);
  mkdirSync(dir, { recursive: true });
  const object = History.toObject(History.fromObject(history), {
    longs: String,
    enums: String,
    bytes: String,
  });
  const json = JSON.stringify(object, null, 1);
  writeFileSync(`${dir}${name}.json`, `${json}\n`);
}

/** Every checked-in history of `workflow`, decoded, with its file name (the replay's workflow id). */
export function historyFixtures(workflow: string): { file: string; history: RecordedHistory }[] {
  const dir = dirOf(workflow);
  return readdirSync(dir)
    .filter((f) => f.endsWith('.json'))
    .sort()
    .map((file) => ({
      file,
      history: History.fromObject(JSON.parse(readFileSync(`${dir}${file}`, 'utf8'))),
    }));
}
