// Defaults for a trial: `npm start` with nothing external configured (embedded PGlite and temporal-dev) is
// someone trying Disburse out, who should see a scheduled payout paid and a new payee paid instantly within
// minutes. Production (any DATABASE_URL, TEMPORAL_ADDRESS or Temporal profile) keeps the defaults of each section.
type Env = Readonly<Record<string, string | undefined>>;

export const TRIAL_DEFAULTS: Readonly<Record<string, string>> = {
  // A payout window every minute instead of business days at 17:00.
  PAYOUT_WINDOW_EVERY: '1m',
  // A destination added a moment ago may be paid at once (default: held for review for 72h).
  RISK_DESTINATION_COOL_OFF: '0s',
};

/** The environment with the trial defaults for the variables it leaves unset, and which ones were applied. */
export function withTrialDefaults(env: Env): { env: Env; applied: string[] } {
  if (env.DATABASE_URL || env.TEMPORAL_ADDRESS || env.TEMPORAL_PROFILE || env.TEMPORAL_CONFIG_FILE) {
    return { env, applied: [] };
  }
  const applied = Object.keys(TRIAL_DEFAULTS).filter((name) => env[name] === undefined);
  return {
    env: { ...env, ...Object.fromEntries(applied.map((name) => [name, TRIAL_DEFAULTS[name]])) },
    applied,
  };
}
