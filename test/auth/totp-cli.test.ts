import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { describe, expect, it } from '@jest/globals';
import {
  base32Encode,
  matchTotp,
  newTotpSecret,
  otpauthUri,
  secretFromOtpauth,
} from '../../src/auth/totp.ts';

const run = promisify(execFile);
const cli = (...args: string[]) =>
  run(process.execPath, ['src/auth/totp-cli.ts', ...args]).then(
    (r) => ({ code: 0, ...r }),
    (e: { code: number; stdout: string; stderr: string }) => e,
  );

describe('auth:totp', () => {
  it('reads the secret of an otpauth URI and of a bare base32 secret alike', () => {
    const secret = newTotpSecret();
    expect(secretFromOtpauth(otpauthUri('Disburse', 'alice', secret))).toEqual(secret);
    expect(secretFromOtpauth(` ${base32Encode(secret).toLowerCase()} `)).toEqual(secret);
    expect(() => secretFromOtpauth('otpauth://totp/x?issuer=y')).toThrow(/no secret/);
    expect(() => secretFromOtpauth('')).toThrow(/empty/);
  });

  it('prints a code the approver check accepts', async () => {
    const secret = newTotpSecret();
    const out = await cli(otpauthUri('Disburse', 'alice', secret));
    expect(out.code).toBe(0);
    const code = out.stdout.trim();
    expect(code).toMatch(/^\d{6}$/);
    // Any step of the last few minutes: the process may start slowly on a loaded machine.
    expect(matchTotp(secret, code, Math.floor(Date.now() / 1000), { window: 10 })).not.toBeNull();
  });

  it.each([
    [[], /give the otpauth/],
    [['not base32!'], /invalid base32/],
    [['JBSWY3DP', 'extra'], /unexpected argument/],
  ])('refuses %j with usage and exit 2', async (args, message) => {
    const out = await cli(...(args as string[]));
    expect(out.code).toBe(2);
    expect(out.stderr).toMatch(message);
    expect(out.stderr).toContain('usage: npm run auth:totp');
  });
});
