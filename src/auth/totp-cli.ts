import { parseCli } from '../cli/args.ts';
import { secretFromOtpauth, totp } from './totp.ts';

/** `npm run auth:totp -- <otpauth URI or base32 secret>`: the approver's current code, as an authenticator app shows it. */
const cli = parseCli({
  usage: `usage: npm run auth:totp -- <otpauth://… URI | base32 secret>

Prints the current 6-digit TOTP code of an approver (RFC 6238, 30 s steps), the same code an authenticator
app shows after scanning the otpauth:// URI that npm start or auth:create-key --totp printed. For trying
Disburse out; real approvers keep the secret in their authenticator only.
  -h, --help   print this help and exit`,
  options: {},
  positionals: true,
});
const [first, extra] = cli.positionals;
const input = first ?? cli.fail('give the otpauth:// URI or the base32 secret');
if (extra !== undefined) cli.fail(`unexpected argument ${extra}`);
try {
  console.log(totp(secretFromOtpauth(input), Math.floor(Date.now() / 1000)));
} catch (error) {
  cli.fail(error instanceof Error ? error.message : String(error));
}
