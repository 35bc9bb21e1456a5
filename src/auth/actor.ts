// Who did something, as recorded on payouts and in workflow decisions. Types only: the workflow bundle
// imports this.

export interface Actor {
  actor: string;
  role: 'platform' | 'approver' | 'operator' | 'payee';
}
