// Wise's recipient account requirements (GET /v1/account-requirements?source=&target=&sourceAmount=, version
// 1.1 by `Accept-Minor-Version: 1`): per recipient type, the fields a recipient body must carry for this route
// — dynamic: a field marked `refreshRequirementsOnChange` (address.country) may add others once it has a value
// (address.state for the US), learned by POSTing the body to the same endpoint. A recipient body is checked
// against them before it is sent, so a missing field is a clear hard decline naming it, not Wise's 422 later.
// Values are bank data: problems name fields, never values.

export interface WiseRequirementField {
  key: string;
  type?: string;
  required?: boolean;
  refreshRequirementsOnChange?: boolean;
  minLength?: number | null;
  maxLength?: number | null;
  validationRegexp?: string | null;
  valuesAllowed?: { key: string; name?: string }[] | null;
}

export interface WiseRequirement {
  type: string;
  title?: string;
  fields: { name: string; group: WiseRequirementField[] }[];
}

/** What a recipient body (POST /v1/accounts) holds: `accountHolderName` at the top, the rest in `details`. */
export interface WiseRecipientBody {
  currency: string;
  type: string;
  profile: number;
  accountHolderName: string;
  ownedByCustomer: boolean;
  details: Record<string, unknown>;
}

/** The value of a requirement key in a body: `accountHolderName` is top-level, others are paths in `details`. */
export function valueAt(body: WiseRecipientBody, key: string): unknown {
  if (key === 'accountHolderName') return body.accountHolderName;
  let at: unknown = body.details;
  for (const part of key.split('.')) {
    if (at === null || typeof at !== 'object') return undefined;
    at = (at as Record<string, unknown>)[part];
  }
  return at;
}

export interface RequirementProblem {
  key: string;
  /** Wise's label of the field (e.g. "City"). */
  name: string;
  problem: 'missing' | 'invalid' | 'not_allowed';
}

/** The required fields the body lacks, and the present ones Wise's rules refuse (pattern, length, allowed values). */
export function problemsOf(requirement: WiseRequirement, body: WiseRecipientBody): RequirementProblem[] {
  const out: RequirementProblem[] = [];
  for (const field of requirement.fields) {
    for (const f of field.group) {
      const v = valueAt(body, f.key);
      const present = v !== undefined && v !== null && v !== '';
      if (!present) {
        if (f.required) out.push({ key: f.key, name: field.name, problem: 'missing' });
        continue;
      }
      const text = String(v);
      if (f.valuesAllowed && f.valuesAllowed.length > 0 && !f.valuesAllowed.some((a) => a.key === text)) {
        out.push({ key: f.key, name: field.name, problem: 'not_allowed' });
        continue;
      }
      let pattern: RegExp | undefined;
      try {
        pattern = f.validationRegexp ? new RegExp(f.validationRegexp, 'u') : undefined;
      } catch {
        pattern = undefined; // a pattern JavaScript cannot read is Wise's to check
      }
      const tooShort = typeof f.minLength === 'number' && text.length < f.minLength;
      const tooLong = typeof f.maxLength === 'number' && text.length > f.maxLength;
      if (tooShort || tooLong || (pattern && !pattern.test(text))) {
        out.push({ key: f.key, name: field.name, problem: 'invalid' });
      }
    }
  }
  return out;
}

/** Keys of fields whose value changes the requirements and that the body fills in. */
export function refreshKeysIn(requirement: WiseRequirement, body: WiseRecipientBody): string[] {
  return requirement.fields
    .flatMap((f) => f.group)
    .filter((f) => f.refreshRequirementsOnChange && valueAt(body, f.key) !== undefined)
    .map((f) => f.key);
}

/** One sentence naming every problem, e.g. `missing address.city ("City"), address.postCode ("Post code")`. */
export function describeProblems(problems: readonly RequirementProblem[]): string {
  const by = (p: RequirementProblem['problem']) =>
    problems.filter((x) => x.problem === p).map((x) => `${x.key} ("${x.name}")`);
  return [
    ['missing', by('missing')],
    ['not in the values Wise allows', by('not_allowed')],
    ["not in Wise's format", by('invalid')],
  ]
    .filter(([, keys]) => (keys as string[]).length > 0)
    .map(([what, keys]) => `${what}: ${(keys as string[]).join(', ')}`)
    .join('; ');
}
