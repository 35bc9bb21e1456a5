// The payee's crypto destination as the payout service hands it over: `<network>/<address>` (the normalised
// identifying parts: EVM addresses upper-cased, Solana's case kept). Mapped to Circle's chain codes; the
// address is checked per chain again here (a destination stored before the checks existed must not pay).
import { cryptoAddressProblem, evmNetworks } from '../../payees/crypto-address.ts';
import { ProviderError } from '../errors.ts';

/** Disburse network → Circle chain code (Circle Mint blockchain transfers). */
export const CIRCLE_CHAINS: Record<string, string> = {
  ethereum: 'ETH',
  polygon: 'MATIC',
  arbitrum: 'ARB',
  base: 'BASE',
  solana: 'SOL',
};

export interface CircleDestination {
  network: string;
  chain: string;
  address: string;
}

export function parseCircleDestination(provider: string, destination: string): CircleDestination {
  const decline = (code: string, message: string) =>
    new ProviderError(provider, 'hard_decline', code, message);
  const slash = destination.indexOf('/');
  const network = slash > 0 ? destination.slice(0, slash).toLowerCase() : '';
  const raw = slash > 0 ? destination.slice(slash + 1) : '';
  const chain = CIRCLE_CHAINS[network];
  if (!network || !raw) {
    throw decline('invalid_destination', 'the destination is not a crypto address (<network>/<address>)');
  }
  if (!chain) {
    throw decline(
      'chain_not_supported',
      `Circle pays USDC on ${Object.keys(CIRCLE_CHAINS).join(', ')}; not on ${network}`,
    );
  }
  // EVM addresses arrive upper-cased (0X…): checked as given (a mixed-case one by its EIP-55 checksum), then
  // sent as 0x + lower-case hex, the form every chain explorer and Circle accept.
  const evm = (evmNetworks as readonly string[]).includes(network);
  const given = evm && raw.startsWith('0X') ? `0x${raw.slice(2)}` : raw;
  const why = cryptoAddressProblem(network, given);
  if (why) throw decline('invalid_address', `the ${network} address ${why}`);
  const address = evm ? given.toLowerCase() : given;
  return { network, chain, address };
}
