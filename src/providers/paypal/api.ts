// The shapes of the PayPal Payouts v1 and Notifications v1 calls this adapter makes (typed by hand: the
// official @paypal/paypal-server-sdk does not cover Payouts). Only the fields the adapter reads or sends.
// https://developer.paypal.com/api/payments.payouts-batch/v1/ ,
// https://developer.paypal.com/api/webhooks/v1/#verify-webhook-signature
import type { RecipientType, RecipientWallet } from './destination.ts';

export interface PaypalMoney {
  value: string;
  currency: string;
}

export interface PaypalLink {
  href: string;
  rel?: string;
  method?: string;
}

/** Error body: REST `{name, message, debug_id, details[], links[]}`; OAuth `{error, error_description}`. */
export interface PaypalError {
  name?: string;
  message?: string;
  debug_id?: string;
  details?: { field?: string; issue?: string; description?: string; link?: PaypalLink[] }[];
  links?: PaypalLink[];
  error?: string;
  error_description?: string;
}

export interface CreatePayoutRequest {
  sender_batch_header: {
    sender_batch_id: string;
    recipient_type?: RecipientType;
    email_subject?: string;
    email_message?: string;
  };
  items: {
    recipient_type: RecipientType;
    amount: PaypalMoney;
    receiver: string;
    sender_item_id: string;
    recipient_wallet: RecipientWallet;
    note?: string;
  }[];
}

export type BatchStatus = 'DENIED' | 'PENDING' | 'PROCESSING' | 'SUCCESS' | 'CANCELED';

/** transaction_status of an item; the docs also name ON_HOLD / DENIED in prose. */
export type ItemStatus =
  | 'SUCCESS'
  | 'FAILED'
  | 'PENDING'
  | 'UNCLAIMED'
  | 'RETURNED'
  | 'ONHOLD'
  | 'BLOCKED'
  | 'REFUNDED'
  | 'REVERSED'
  | 'DENIED'
  | 'NEW';

export interface BatchHeader {
  payout_batch_id: string;
  batch_status: BatchStatus;
  sender_batch_header: { sender_batch_id?: string };
  time_created?: string;
}

export interface PayoutItem {
  payout_item_id: string;
  transaction_id?: string;
  transaction_status: ItemStatus;
  payout_batch_id: string;
  sender_batch_id?: string;
  payout_item: {
    recipient_type?: RecipientType;
    amount: PaypalMoney;
    receiver?: string;
    sender_item_id?: string;
    recipient_wallet?: RecipientWallet;
  };
  time_processed?: string;
  errors?: { name?: string; message?: string };
}

export interface CreatePayoutResponse {
  batch_header: BatchHeader;
  links?: PaypalLink[];
}

export interface PayoutBatch {
  batch_header: BatchHeader;
  items?: PayoutItem[];
  links?: PaypalLink[];
}

export interface WebhookEvent {
  id: string;
  event_type: string;
  create_time?: string;
  resource_type?: string;
  resource?: Partial<PayoutItem> & { batch_header?: BatchHeader };
}

export interface VerifySignatureResponse {
  verification_status: 'SUCCESS' | 'FAILURE';
}
