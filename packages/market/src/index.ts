/**
 * @bitcdn/market — paid delivery over the BitTorrent wire: the `bitcdn_pay` BEP 10 extension
 * (codec and per-connection channel), the seller (terms, admission against escrow collateral,
 * credit-gated serving, cheques stored before they are acknowledged) and the buyer (pays each
 * seller for exactly the bytes it delivered into verified pieces; chooses sellers by price,
 * throughput and reliability under a maximum price and a budget).
 */
export { createPaidSeller, type PaidSeller, type PaidSellerInit, type PaidSellerComponents, type PaidSellerEvents, type SellerStats, type BuyerAccount, type SellerConnection } from './seller/paid-seller.js'
export { settlementPayments, sellerCreditInit, type SellerPayments, type ChequeOutcome } from './seller/seller-payments.js'
export { lookupSourceOf, sourceBudgets, type SourceBudgets } from './peer-source.js'
export { createPaidBuyer, type PaidBuyer, type PaidBuyerInit, type PaidBuyerComponents, type PaidBuyerEvents, type BuyerPayments, type AllocationManager, type SellerView } from './buyer/paid-buyer.js'
export { sellerWeights, type SellerScoreInput, type BuyerPolicyOptions } from './buyer/buyer-policy.js'
export { encodePayMessage, decodePayMessage, PAY_EXTENSION_NAME, PROTOCOL_VERSION, MAX_PAY_MESSAGE_BYTES, HELLO_NONCE_BYTES, encodeRefuse, RefuseReason, type PayMessage, type TermsMessage, type HelloMessage, type ProofMessage, type ChequeMessage, type AckMessage, type RefuseMessage } from './wire/codec.js'
export { signPayeeProof, verifyPayeeProof, payeeProofTypes, type PayeeKey, type PayeeProofFields } from './wire/payee-proof.js'
export { signPayerProof, verifyPayerProof, payerProofTypes, type PayerKey, type PayerProofFields } from './wire/payer-proof.js'
export { attachPayChannel, type PayChannel, type PayChannelHandler, type PayConnection } from './wire/pay-channel.js'
export { bytesValue } from './price.js'
export { MarketErrorCode } from './errors.js'
