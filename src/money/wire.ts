// Money as it crosses a boundary (workflow payloads, API bodies, webhook events): integer minor units as a
// decimal string, so no float ever holds an amount. Types only: the workflow bundle imports this.

export interface MoneyWire {
  amount: string;
  currency: string;
  scale: number;
}
