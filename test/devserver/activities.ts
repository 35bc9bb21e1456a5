// Activities used by the temporal-dev conformance workflows.
export async function greet(name: string): Promise<string> {
  return `Hello, ${name}`;
}
