// Prints deploy/env.example from the config sections (see env-example.ts).
import { parseCli } from '../cli/args.ts';
import { renderEnvExample } from './env-example.ts';

parseCli({
  usage: `usage: node src/config/env-example-cli.ts [--help] > deploy/env.example

Prints every configuration variable of src/config with its expected form, as deploy/env.example.
  -h, --help   print this help and exit`,
  options: {},
});
process.stdout.write(renderEnvExample());
