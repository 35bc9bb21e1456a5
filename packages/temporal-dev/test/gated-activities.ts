// Activities the test process controls: each waits until the test opens its gate.
let opened: () => void = () => {};
let gate = new Promise<void>((resolve) => {
  opened = resolve;
});
let entered: () => void = () => {};
/** Resolves once an activity is waiting at the gate. */
export let activityEntered = new Promise<void>((resolve) => {
  entered = resolve;
});

export function openGate(): void {
  opened();
}

export function resetGate(): void {
  gate = new Promise<void>((resolve) => {
    opened = resolve;
  });
  activityEntered = new Promise<void>((resolve) => {
    entered = resolve;
  });
}

export async function waitsAtGate(): Promise<string> {
  entered();
  await gate;
  return 'through';
}
