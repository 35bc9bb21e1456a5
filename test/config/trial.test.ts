import { describe, expect, it } from '@jest/globals';
import { loadConfig } from '../../src/config/index.ts';
import { TRIAL_DEFAULTS, withTrialDefaults } from '../../src/config/trial.ts';

describe('trial defaults of the embedded npm start', () => {
  it('apply only when nothing external is configured, and never over a set variable', () => {
    const embedded = withTrialDefaults({ PAYOUT_WINDOW_EVERY: '5m' });
    expect(embedded.applied).toEqual(['RISK_DESTINATION_COOL_OFF']);
    const config = loadConfig(embedded.env);
    expect(config.payouts.calendar.everyMs).toBe(300_000);
    expect(config.payouts.risk.destinationCoolOffMs).toBe(0);

    const all = withTrialDefaults({});
    expect(all.applied.sort()).toEqual(Object.keys(TRIAL_DEFAULTS).sort());
    expect(loadConfig(all.env).payouts.calendar.everyMs).toBe(60_000);

    for (const external of [
      { DATABASE_URL: 'postgres://postgres@127.0.0.1:5432/postgres' },
      { TEMPORAL_ADDRESS: '127.0.0.1:7233' },
    ]) {
      const production = withTrialDefaults(external);
      expect(production.applied).toEqual([]);
      const c = loadConfig(production.env);
      expect(c.payouts.calendar.everyMs).toBeUndefined();
      expect(c.payouts.risk.destinationCoolOffMs).toBe(72 * 3_600_000);
    }
  });
});
