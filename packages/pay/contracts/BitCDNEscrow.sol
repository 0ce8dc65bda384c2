// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {SafeERC20} from "@openzeppelin/contracts/token/ERC20/utils/SafeERC20.sol";
import {ECDSA} from "@openzeppelin/contracts/utils/cryptography/ECDSA.sol";
import {EIP712} from "@openzeppelin/contracts/utils/cryptography/EIP712.sol";
import {Ownable, Ownable2Step} from "@openzeppelin/contracts/access/Ownable2Step.sol";
import {ReentrancyGuardTransient} from "@openzeppelin/contracts/utils/ReentrancyGuardTransient.sol";
import {IERC3009Receive} from "./interfaces/IERC3009Receive.sol";

/**
 * @title BitCDNEscrow
 * @notice Holds payers' stablecoin deposits and settles cumulative EIP-712 cheques to node operators
 * (payees) in batches. One instance per chain.
 *
 * Model:
 * - A payer is an address (its "owner" key, kept cold). The owner deposits, withdraws (with notice
 *   only), allocates, and names a hot "signer" key that can do nothing but sign cheques.
 * - A cheque `Cheque(address payer,address payee,address token,uint128 cumulativeAmount)` says "the
 *   payer owes the payee `cumulativeAmount` in total". There is no nonce: a newer cheque supersedes
 *   the older one, and a claim pays the difference to what was already paid out.
 * - Claims never revert the batch: bad rows are skipped with {ChequeRejected}, rows the payer cannot
 *   fully cover pay what there is and emit {ChequeBounced}; the rest stays claimable.
 * - Money leaves only to its owner: payers' funds to the payer after the withdrawal delay, payees'
 *   earnings to wherever the payee says. The admin can only open or close tokens for deposits.
 * - Key compromise: the owner can revoke the hot signer at any time ({revokeSigner}); the revoked
 *   key keeps counting only {REVOKE_DELAY}. An optional per-period cap ({setSignerCap}) bounds what
 *   the delegated signers' cheques may draw from the free balance.
 * - Notices (withdrawal, deallocation) mature after {withdrawDelay} and must be finalized within
 *   {FINALIZE_WINDOW} after that, or they lapse: a stale notice is no standing threat to payees.
 *
 * Accounting invariant, per token:
 *   sum(free balances) + sum(allocations) + sum(earnings) == token.balanceOf(this)
 * (pending withdrawals and deallocations stay inside free balances / allocations until finalized,
 * so claims that land during the notice period win).
 *
 * Specs: EIP-712 (typed data), ERC-5267 (domain discovery), ERC-2098 (compact signatures),
 * EIP-3009 (receiveWithAuthorization deposits).
 */
contract BitCDNEscrow is EIP712, Ownable2Step, ReentrancyGuardTransient {
    using SafeERC20 for IERC20;

    // ---------------------------------------------------------------- types

    /// @notice What a payer signs: the total it owes `payee` in `token`, ever.
    struct Cheque {
        address payer;
        address payee;
        address token;
        uint128 cumulativeAmount;
    }

    /// @notice A cheque and its signature: 65 bytes (r,s,v) or 64 bytes (ERC-2098 r,vs).
    struct SignedCheque {
        Cheque cheque;
        bytes signature;
    }

    /// @notice Why a claim row was skipped (the `reason` of {ChequeRejected}).
    enum RejectReason {
        None,
        ZeroAddress, // payer or payee is address(0)
        UnknownToken, // token was never on the allowlist
        BadSignature, // wrong length, high-s, or unrecoverable
        UnauthorizedSigner, // recovered key is not the owner, the signer, or a retired/revoked signer still counting
        NotNewer, // cumulativeAmount <= paidOut
        PayeeIsPayer // a cheque to oneself would turn the free balance into earnings: an instant withdrawal
    }

    /// @dev One slot: what a payee has been paid by a payer, and what the payer set aside for it.
    struct Channel {
        uint128 paidOut;
        uint128 allocated;
    }

    /// @dev Slot 1 of a payer's keys: the hot signer (with its end of validity once revoked, 0 =
    /// open-ended), the bounced flag, and whether a spending cap (active or announced) applies.
    struct SignerSlot {
        address current;
        uint64 currentValidUntil;
        bool bounced;
        bool capped;
    }

    /// @dev Slot 2 of a payer's keys: the rotated-out (or revoked) signer and until when it still counts.
    struct PreviousSignerSlot {
        address previous;
        uint64 validUntil;
    }

    /// @dev A requested decrease (withdrawal or deallocation) and when it can be finalized.
    struct Notice {
        uint192 amount;
        uint64 readyAt;
    }

    /// @dev A payer's spending cap on delegated signers' cheques (0 = none) and its current period.
    struct SpendCap {
        uint128 cap;
        uint64 period;
        uint64 periodStart;
    }

    /// @dev An announced lowering of the cap and when it takes effect.
    struct CapChange {
        uint128 cap;
        uint64 period;
        uint64 effectiveAt;
    }

    /// @dev Token lifecycle: deposits are open only while Allowed; claims and withdrawals keep
    /// working after delisting so no one's money is trapped.
    enum TokenStatus {
        Unknown,
        Allowed,
        Delisted
    }

    /// @dev How a cheque's signer relates to its payer.
    enum SignerKind {
        Unauthorized,
        Owner,
        Delegated
    }

    // ---------------------------------------------------------------- constants & state

    /// @notice EIP-712 type hash of {Cheque}.
    bytes32 public constant CHEQUE_TYPEHASH =
        keccak256("Cheque(address payer,address payee,address token,uint128 cumulativeAmount)");

    /**
     * @notice How long (seconds) a revoked signer's cheques still count: 1 hour, or {withdrawDelay}
     * if that is shorter. A payee holding the revoked key's cheques sees {SignerRevoked} within
     * seconds and needs one claim transaction; an hour leaves room for an RPC outage, a gas spike
     * and a slow polling loop on an L2 (2 s blocks), while a thief holding the key signs for at
     * most that hour after the owner acts (and within the cap, if one is set).
     */
    uint64 public constant REVOKE_DELAY = 1 hours;

    /**
     * @notice How long (seconds) a matured withdrawal or deallocation stays finalizable; after
     * that it lapses and a decrease needs a fresh notice. One day: room for a cold key to act,
     * while a payee needs to discount a notice only until it lapses.
     */
    uint64 public constant FINALIZE_WINDOW = 1 days;

    /// @notice Shortest {withdrawDelay}: 1 s (0 would make every notice meaningless).
    uint64 public constant MIN_WITHDRAW_DELAY = 1;
    /// @notice Longest {withdrawDelay}: 30 days (longer locks payers' money for no payee's benefit,
    /// and keeps `now + delay` far from uint64 overflow).
    uint64 public constant MAX_WITHDRAW_DELAY = 30 days;

    /// @notice Shortest spending-cap period (seconds).
    uint64 public constant MIN_CAP_PERIOD = 1 minutes;
    /// @notice Longest spending-cap period (seconds).
    uint64 public constant MAX_CAP_PERIOD = 365 days;

    /// @notice Bytes per row of {claimCompact}: payer(20) | cumulative(16) | r(32) | vs(32).
    uint256 public constant COMPACT_ROW_BYTES = 100;

    uint64 private immutable _withdrawDelay;

    mapping(address token => TokenStatus) private _tokenStatus;
    mapping(address payer => SignerSlot) private _signer;
    mapping(address payer => PreviousSignerSlot) private _previousSigner;
    mapping(address payer => mapping(address token => uint256)) private _balances;
    /// @dev Keyed payee → token → payer so a {claimCompact} batch hashes (payee, token) once and
    /// each row only its payer.
    mapping(address payee => mapping(address token => mapping(address payer => Channel))) private _channels;
    mapping(address payee => mapping(address token => uint256)) private _earnings;
    mapping(address payer => mapping(address token => Notice)) private _withdrawals;
    mapping(address payer => mapping(address payee => mapping(address token => Notice))) private _deallocations;
    mapping(address payer => SpendCap) private _caps;
    mapping(address payer => uint256) private _capSpent;
    mapping(address payer => CapChange) private _capChanges;

    // ---------------------------------------------------------------- events

    /// @notice A listed token was opened (`allowed`) or closed for deposits; only on a change.
    event TokenAllowed(address indexed token, bool allowed);
    event Deposited(address indexed payer, address indexed token, uint256 amount);
    /// @notice `current` is the new hot signer; `previous` is the signer it replaced (address(0) if
    /// none was counting) and `previousValidUntil` until when that one still counts (0 if it does not).
    event SignerChanged(address indexed payer, address previous, address current, uint64 previousValidUntil);
    /// @notice The owner revoked `signer`; its cheques count until `validUntil` (≤ now + {REVOKE_DELAY}).
    event SignerRevoked(address indexed payer, address indexed signer, uint64 validUntil);
    /// @notice A spending cap on delegated signers' cheques, effective from `effectiveAt` (0 cap = none).
    event SignerCapChanged(address indexed payer, uint128 capPerPeriod, uint64 periodSeconds, uint64 effectiveAt);
    event ChequeClaimed(
        address indexed payer, address indexed payee, address indexed token, uint128 cumulativeAmount, uint256 paid
    );
    /// @notice Lean per-row event of {claimCompact}; payee and token are in the batch's {CompactClaimed}.
    event ChequePaid(address indexed payer, uint256 paid);
    /// @notice One per {claimCompact} batch: `rows` rows settled for `payee` in `token`, `totalPaid` in all.
    event CompactClaimed(address indexed payee, address indexed token, uint256 rows, uint256 totalPaid);
    event ChequeBounced(
        address indexed payer, address indexed payee, address indexed token, uint128 cumulativeAmount, uint256 shortfall
    );
    event ChequeRejected(uint256 index, address indexed payer, address indexed payee, address indexed token, uint8 reason);
    event WithdrawRequested(address indexed payer, address indexed token, uint256 amount, uint64 readyAt);
    event WithdrawCancelled(address indexed payer, address indexed token);
    event WithdrawFinalized(address indexed payer, address indexed token, uint256 amount);
    event EarningsWithdrawn(address indexed payee, address indexed token, address to, uint256 amount);
    event Allocated(address indexed payer, address indexed payee, address indexed token, uint256 amount, uint256 total);
    event DeallocationRequested(
        address indexed payer, address indexed payee, address indexed token, uint256 amount, uint64 readyAt
    );
    event DeallocationCancelled(address indexed payer, address indexed payee, address indexed token);
    event Deallocated(address indexed payer, address indexed payee, address indexed token, uint256 amount);

    // ---------------------------------------------------------------- errors

    error TokenNotAllowed(address token);
    error TokenNotListed(address token);
    error ZeroAmount();
    error ZeroAddress();
    error AmountTooLarge(uint256 amount, uint256 max);
    error TransferAmountMismatch(address token, uint256 expected, uint256 received);
    error InsufficientBalance(address payer, address token, uint256 balance, uint256 needed);
    error NoPendingWithdrawal(address payer, address token);
    error NoPendingDeallocation(address payer, address payee, address token);
    error NoticeNotElapsed(uint64 readyAt, uint64 now_);
    error NoticeLapsed(uint64 expiredAt, uint64 now_);
    error NothingToWithdraw(address payee, address token);
    error SignerRotationTooSoon(address previous, uint64 previousValidUntil);
    error SignerWasRevoked(address signer, uint64 validUntil);
    error NoSignerToRevoke(address payer);
    error WithdrawDelayOutOfRange(uint256 delay, uint256 min, uint256 max);
    error CapPeriodOutOfRange(uint256 period, uint256 min, uint256 max);
    error MalformedRows(uint256 length, uint256 rowBytes);

    // ---------------------------------------------------------------- construction & admin

    /**
     * @param initialOwner admin (Ownable2Step) that may open and close tokens; it cannot move funds.
     * @param withdrawDelay_ notice in seconds before a withdrawal or deallocation can be finalized,
     *        the grace period of a rotated-out signer and the notice of a lower spending cap
     *        (≥ 48 h in production; {MIN_WITHDRAW_DELAY}..{MAX_WITHDRAW_DELAY}).
     * @param tokens tokens open for deposits from the start.
     */
    constructor(address initialOwner, uint64 withdrawDelay_, address[] memory tokens)
        EIP712("BitCDNEscrow", "1")
        Ownable(initialOwner)
    {
        if (withdrawDelay_ < MIN_WITHDRAW_DELAY || withdrawDelay_ > MAX_WITHDRAW_DELAY) {
            revert WithdrawDelayOutOfRange(withdrawDelay_, MIN_WITHDRAW_DELAY, MAX_WITHDRAW_DELAY);
        }
        _withdrawDelay = withdrawDelay_;
        for (uint256 i = 0; i < tokens.length; ++i) {
            _setTokenAllowed(tokens[i], true);
        }
    }

    /**
     * @notice Opens (`allowed`) or closes a token for deposits. Closing never blocks claims or
     * withdrawals of money already held; closing a token that was never listed reverts
     * {TokenNotListed}. Emits {TokenAllowed} only when the status changes. Admin only.
     */
    function setTokenAllowed(address token, bool allowed) external onlyOwner {
        _setTokenAllowed(token, allowed);
    }

    /// @notice True while `token` is open for deposits.
    function isTokenAllowed(address token) external view returns (bool) {
        return _tokenStatus[token] == TokenStatus.Allowed;
    }

    /// @notice Notice period (seconds) for withdrawals, deallocations, signer rotation grace and lower caps.
    function withdrawDelay() external view returns (uint64) {
        return _withdrawDelay;
    }

    // ---------------------------------------------------------------- deposits

    /// @notice Deposits `amount` of `token` (pulled with transferFrom) to the caller's free balance.
    function deposit(address token, uint256 amount) external nonReentrant {
        _deposit(msg.sender, token, msg.sender, amount);
    }

    /// @notice Deposits `amount` of `token` from the caller to `payer`'s free balance.
    function depositFor(address payer, address token, uint256 amount) external nonReentrant {
        if (payer == address(0)) revert ZeroAddress();
        _deposit(payer, token, msg.sender, amount);
    }

    /**
     * @notice Deposits with an EIP-3009 `receiveWithAuthorization` signed by `from` (payable to this
     * contract), crediting `from`. Front-running the signature is harmless: the token only accepts it
     * from this contract, and it always credits `from`.
     */
    function depositWithAuthorization(
        address token,
        address from,
        uint256 amount,
        uint256 validAfter,
        uint256 validBefore,
        bytes32 nonce,
        bytes calldata signature
    ) external nonReentrant {
        if (from == address(0)) revert ZeroAddress();
        _requireDepositable(token, amount);
        uint256 before = IERC20(token).balanceOf(address(this));
        IERC3009Receive(token).receiveWithAuthorization(
            from, address(this), amount, validAfter, validBefore, nonce, signature
        );
        _checkReceived(token, before, amount);
        _credit(from, token, amount);
    }

    // ---------------------------------------------------------------- keys

    /**
     * @notice Names `signer` as the caller's hot cheque-signing key (address(0): retire it without
     * a successor; the owner key itself can always sign). The replaced signer stays valid for
     * {withdrawDelay} so payees holding its cheques have the same notice as for a withdrawal. A
     * second rotation during that grace reverts with {SignerRotationTooSoon}, which would otherwise
     * cut the grace short. Naming a signer when none counts (first time, or after {revokeSigner}) is
     * allowed at once; if the revoked key still counts and a retired one does too, wait until the
     * retired one lapses (at most {REVOKE_DELAY}). For a leaked key use {revokeSigner}.
     */
    function setSigner(address signer) external {
        SignerSlot storage slot = _signer[msg.sender];
        PreviousSignerSlot storage prev = _previousSigner[msg.sender];
        address current = slot.current;
        uint64 currentUntil = slot.currentValidUntil;
        uint64 now_ = uint64(block.timestamp);
        bool currentLive = current != address(0) && (currentUntil == 0 || now_ <= currentUntil);
        if (current == signer && currentUntil == 0) return;
        if (currentLive && currentUntil != 0 && signer == current) revert SignerWasRevoked(current, currentUntil);
        if (!currentLive) {
            // Nothing counting to rotate out: the previous signer keeps its grace untouched.
            slot.current = signer;
            slot.currentValidUntil = 0;
            emit SignerChanged(msg.sender, address(0), signer, 0);
            return;
        }
        if (prev.previous != address(0) && now_ <= prev.validUntil) {
            revert SignerRotationTooSoon(prev.previous, prev.validUntil);
        }
        // A revoked key keeps only what is left of its revocation delay; a healthy one gets the full notice.
        uint64 validUntil = currentUntil != 0 ? currentUntil : now_ + _withdrawDelay;
        prev.previous = current;
        prev.validUntil = validUntil;
        slot.current = signer;
        slot.currentValidUntil = 0;
        emit SignerChanged(msg.sender, current, signer, validUntil);
    }

    /**
     * @notice Revokes the caller's hot signer, and cuts the grace of a rotated-out one, to at most
     * {REVOKE_DELAY} (or {withdrawDelay} if shorter) from now. Works at any time, also during the
     * grace of a rotation. Emits {SignerRevoked} per key cut; reverts {NoSignerToRevoke} when no
     * delegated key would count beyond that.
     */
    function revokeSigner() external {
        SignerSlot storage slot = _signer[msg.sender];
        PreviousSignerSlot storage prev = _previousSigner[msg.sender];
        uint64 now_ = uint64(block.timestamp);
        uint64 until = now_ + (REVOKE_DELAY < _withdrawDelay ? REVOKE_DELAY : _withdrawDelay);
        bool revoked;
        address current = slot.current;
        uint64 currentUntil = slot.currentValidUntil;
        if (current != address(0) && (currentUntil == 0 || currentUntil > until)) {
            if (prev.previous == address(0) || now_ > prev.validUntil) {
                // the retired slot is free: park the revoked key there so a new signer can be named at once
                prev.previous = current;
                prev.validUntil = until;
                slot.current = address(0);
                slot.currentValidUntil = 0;
            } else {
                slot.currentValidUntil = until;
            }
            emit SignerRevoked(msg.sender, current, until);
            revoked = true;
        }
        if (prev.previous != address(0) && prev.validUntil > until) {
            prev.validUntil = until;
            emit SignerRevoked(msg.sender, prev.previous, until);
            revoked = true;
        }
        if (!revoked) revert NoSignerToRevoke(msg.sender);
    }

    /**
     * @notice `payer`'s current signer, the rotated-out one, and until when (unix s) the latter counts.
     * A current signer that is revoked but still counting is reported by {currentSignerValidUntil}.
     */
    function signerOf(address payer)
        external
        view
        returns (address current, address previous, uint64 previousValidUntil)
    {
        PreviousSignerSlot storage prev = _previousSigner[payer];
        return (_signer[payer].current, prev.previous, prev.validUntil);
    }

    /// @notice Until when (unix s) `payer`'s current signer counts; 0 = open-ended (not revoked).
    function currentSignerValidUntil(address payer) external view returns (uint64) {
        return _signer[payer].currentValidUntil;
    }

    /// @notice True once any cheque of `payer` was not fully covered at claim time.
    function bounced(address payer) external view returns (bool) {
        return _signer[payer].bounced;
    }

    // ---------------------------------------------------------------- spending cap

    /**
     * @notice Caps what cheques signed by the caller's delegated signers (current, retired or
     * revoked — not the owner key) may draw from the free balance per period of `periodSeconds`:
     * claims beyond it bounce for the excess. Allocations are not capped (they are the payees'
     * hard collateral). The cap counts base units of all tokens together (the allowlist holds
     * 6-decimal USD stablecoins). `capPerPeriod` 0 removes the cap.
     * A change that could lower what a payee can draw (a first cap, a lower cap, a longer period)
     * takes effect after {withdrawDelay}, like any decrease a payee relies on; removing or raising
     * it (≥ cap, ≤ period) is immediate and drops an announced lowering.
     */
    function setSignerCap(uint128 capPerPeriod, uint64 periodSeconds) external {
        if (capPerPeriod != 0 && (periodSeconds < MIN_CAP_PERIOD || periodSeconds > MAX_CAP_PERIOD)) {
            revert CapPeriodOutOfRange(periodSeconds, MIN_CAP_PERIOD, MAX_CAP_PERIOD);
        }
        if (capPerPeriod == 0) periodSeconds = 0;
        uint64 now_ = uint64(block.timestamp);
        SpendCap memory c = _effectiveCap(msg.sender);
        bool loosening = capPerPeriod == 0 || (c.cap != 0 && capPerPeriod >= c.cap && periodSeconds <= c.period);
        SignerSlot storage slot = _signer[msg.sender];
        if (loosening) {
            delete _capChanges[msg.sender];
            if (capPerPeriod == 0) {
                delete _caps[msg.sender];
                _capSpent[msg.sender] = 0;
                slot.capped = false;
            } else {
                _caps[msg.sender] = SpendCap(capPerPeriod, periodSeconds, c.periodStart);
            }
            emit SignerCapChanged(msg.sender, capPerPeriod, periodSeconds, now_);
        } else {
            uint64 effectiveAt = now_ + _withdrawDelay;
            _capChanges[msg.sender] = CapChange(capPerPeriod, periodSeconds, effectiveAt);
            slot.capped = true;
            emit SignerCapChanged(msg.sender, capPerPeriod, periodSeconds, effectiveAt);
        }
    }

    /**
     * @notice `payer`'s spending cap as it applies now: cap per period (0 = none), period length,
     * what delegated signers' cheques drew from the free balance this period, and when it began.
     */
    function signerCap(address payer)
        external
        view
        returns (uint128 cap, uint64 period, uint128 spentThisPeriod, uint64 periodStart)
    {
        SpendCap memory c = _effectiveCap(payer);
        if (c.cap == 0) return (0, 0, 0, 0);
        uint256 spent = _capSpent[payer];
        uint64 start = _currentPeriodStart(c);
        if (start != c.periodStart) spent = 0;
        return (c.cap, c.period, uint128(spent), start);
    }

    /// @notice An announced cap change that is not in effect yet (0, 0, 0 when none).
    function pendingSignerCap(address payer) external view returns (uint128 cap, uint64 period, uint64 effectiveAt) {
        CapChange memory ch = _capChanges[payer];
        if (ch.effectiveAt == 0 || block.timestamp >= ch.effectiveAt) return (0, 0, 0);
        return (ch.cap, ch.period, ch.effectiveAt);
    }

    // ---------------------------------------------------------------- cheques

    /// @notice The EIP-712 digest a payer's key signs for `cheque`.
    function chequeDigest(Cheque calldata cheque) external view returns (bytes32) {
        return _chequeDigest(cheque.payer, cheque.payee, cheque.token, cheque.cumulativeAmount);
    }

    /**
     * @notice Settles a batch of cheques of any payers, payees and tokens. Anyone may call; money
     * only moves into each cheque's payee's {earnings}. Each row pays
     * `min(cumulativeAmount - paidOut, allocation + free balance)` (the free-balance part within a
     * spending cap), drawing the payee's allocation first. Rows never revert the batch (see
     * {ChequeRejected}, {ChequeBounced}). {claimCompact} is the cheaper form for one payee and token.
     * @return totalPaid sum of what all rows paid (in their own tokens' units).
     */
    function claim(SignedCheque[] calldata cheques) external nonReentrant returns (uint256 totalPaid) {
        address token;
        TokenStatus status;
        address earningsPayee;
        address earningsToken;
        uint256 earned;
        uint256 n = cheques.length;
        for (uint256 i = 0; i < n; ++i) {
            SignedCheque calldata row = cheques[i];
            address payer = row.cheque.payer;
            address payee = row.cheque.payee;
            uint128 cumulative = row.cheque.cumulativeAmount;
            if (row.cheque.token != token) {
                token = row.cheque.token;
                status = _tokenStatus[token];
            }
            RejectReason reason;
            if (payer == address(0) || payee == address(0)) reason = RejectReason.ZeroAddress;
            else if (payer == payee) reason = RejectReason.PayeeIsPayer;
            else if (status == TokenStatus.Unknown) reason = RejectReason.UnknownToken;
            if (reason != RejectReason.None) {
                emit ChequeRejected(i, payer, payee, token, uint8(reason));
                continue;
            }
            address recovered = _recover(_chequeDigest(payer, payee, token, cumulative), row.signature);
            (uint256 paid, uint256 shortfall, RejectReason why) =
                _settle(payer, token, cumulative, recovered, _channels[payee][token][payer]);
            if (why != RejectReason.None) {
                emit ChequeRejected(i, payer, payee, token, uint8(why));
                continue;
            }
            if (paid != 0) {
                if (payee != earningsPayee || token != earningsToken) {
                    if (earned != 0) _earnings[earningsPayee][earningsToken] += earned;
                    earningsPayee = payee;
                    earningsToken = token;
                    earned = 0;
                }
                earned += paid;
                totalPaid += paid;
                emit ChequeClaimed(payer, payee, token, cumulative, paid);
            }
            if (shortfall != 0) emit ChequeBounced(payer, payee, token, cumulative, shortfall);
        }
        if (earned != 0) _earnings[earningsPayee][earningsToken] += earned;
    }

    /**
     * @notice Settles cheques of many payers to one `payee` in one `token`: the cheap path a
     * payee's cash-out uses. `rows` is a packed array of {COMPACT_ROW_BYTES}-byte rows
     * `payer(20) | cumulativeAmount(16, big-endian) | r(32) | vs(32)` (ERC-2098 compact
     * signature over the same EIP-712 {Cheque}). Anyone may call; money only moves into `payee`'s
     * {earnings}. Rows pay as in {claim}; each paying row emits {ChequePaid}, the batch one
     * {CompactClaimed}; bad rows emit {ChequeRejected} (with the row index) and short ones
     * {ChequeBounced}, never reverting the batch. Reverts only for a malformed call: a zero payee,
     * a token never listed, or a length that is not a whole number of rows.
     * @return totalPaid what all rows paid, in `token` units.
     */
    function claimCompact(address payee, address token, bytes calldata rows)
        external
        nonReentrant
        returns (uint256 totalPaid)
    {
        if (payee == address(0)) revert ZeroAddress();
        if (_tokenStatus[token] == TokenStatus.Unknown) revert TokenNotListed(token);
        uint256 len = rows.length;
        if (len % COMPACT_ROW_BYTES != 0) revert MalformedRows(len, COMPACT_ROW_BYTES);
        uint256 n = len / COMPACT_ROW_BYTES;
        bytes32 domainSeparator = _domainSeparatorV4();
        mapping(address payer => Channel) storage channels = _channels[payee][token];
        for (uint256 i = 0; i < n; ++i) {
            address payer;
            uint128 cumulative;
            bytes32 r;
            bytes32 vs;
            assembly ("memory-safe") {
                let p := add(rows.offset, mul(i, 100))
                payer := shr(96, calldataload(p))
                cumulative := shr(128, calldataload(add(p, 20)))
                r := calldataload(add(p, 36))
                vs := calldataload(add(p, 68))
            }
            if (payer == address(0) || payer == payee) {
                emit ChequeRejected(
                    i,
                    payer,
                    payee,
                    token,
                    uint8(payer == address(0) ? RejectReason.ZeroAddress : RejectReason.PayeeIsPayer)
                );
                continue;
            }
            address recovered = _recoverCompact(_typedDigest(domainSeparator, payer, payee, token, cumulative), r, vs);
            (uint256 paid, uint256 shortfall, RejectReason why) =
                _settle(payer, token, cumulative, recovered, channels[payer]);
            if (why != RejectReason.None) {
                emit ChequeRejected(i, payer, payee, token, uint8(why));
                continue;
            }
            if (paid != 0) {
                totalPaid += paid;
                emit ChequePaid(payer, paid);
            }
            if (shortfall != 0) emit ChequeBounced(payer, payee, token, cumulative, shortfall);
        }
        if (totalPaid != 0) _earnings[payee][token] += totalPaid;
        emit CompactClaimed(payee, token, n, totalPaid);
    }

    /// @notice What `payer` has paid `payee` in `token` through cheques, in total.
    function paidOut(address payer, address payee, address token) external view returns (uint128) {
        return _channels[payee][token][payer].paidOut;
    }

    /// @notice What `payee` has earned in `token` and not yet withdrawn.
    function earnings(address payee, address token) external view returns (uint256) {
        return _earnings[payee][token];
    }

    /// @notice Sends all of the caller's `token` earnings to `to` in one transfer.
    function withdrawEarnings(address token, address to) external nonReentrant {
        if (to == address(0)) revert ZeroAddress();
        uint256 amount = _earnings[msg.sender][token];
        if (amount == 0) revert NothingToWithdraw(msg.sender, token);
        _earnings[msg.sender][token] = 0;
        emit EarningsWithdrawn(msg.sender, token, to, amount);
        IERC20(token).safeTransfer(to, amount);
    }

    // ---------------------------------------------------------------- payer withdrawals (notice only)

    /// @notice `payer`'s free balance of `token` (excludes allocations; includes a pending withdrawal).
    function balanceOf(address payer, address token) external view returns (uint256) {
        return _balances[payer][token];
    }

    /**
     * @notice Announces a withdrawal of `amount` of `token`, finalizable after {withdrawDelay} and
     * within {FINALIZE_WINDOW} after that. A new request replaces a pending one and restarts the
     * clock. The money stays claimable meanwhile.
     */
    function requestWithdraw(address token, uint256 amount) external {
        if (amount == 0) revert ZeroAmount();
        uint256 balance = _balances[msg.sender][token];
        if (amount > balance) revert InsufficientBalance(msg.sender, token, balance, amount);
        uint64 readyAt = uint64(block.timestamp) + _withdrawDelay;
        _withdrawals[msg.sender][token] = Notice(uint192(amount), readyAt);
        emit WithdrawRequested(msg.sender, token, amount, readyAt);
    }

    /// @notice Drops the caller's pending (not lapsed) withdrawal of `token`.
    function cancelWithdraw(address token) external {
        if (!_live(_withdrawals[msg.sender][token])) revert NoPendingWithdrawal(msg.sender, token);
        delete _withdrawals[msg.sender][token];
        emit WithdrawCancelled(msg.sender, token);
    }

    /**
     * @notice Pays the caller's pending withdrawal of `token` to the caller once the notice has
     * elapsed and before it lapses, capped at the free balance left (claims that landed meanwhile win).
     */
    function finalizeWithdraw(address token) external nonReentrant {
        Notice memory notice = _withdrawals[msg.sender][token];
        if (notice.readyAt == 0) revert NoPendingWithdrawal(msg.sender, token);
        _requireMatured(notice);
        delete _withdrawals[msg.sender][token];
        uint256 balance = _balances[msg.sender][token];
        uint256 amount = notice.amount < balance ? notice.amount : balance;
        _balances[msg.sender][token] = balance - amount;
        emit WithdrawFinalized(msg.sender, token, amount);
        if (amount != 0) IERC20(token).safeTransfer(msg.sender, amount);
    }

    /// @notice `payer`'s pending withdrawal of `token` (0, 0 when none or lapsed).
    function pendingWithdrawal(address payer, address token) external view returns (uint256 amount, uint64 readyAt) {
        Notice memory notice = _withdrawals[payer][token];
        if (!_live(notice)) return (0, 0);
        return (notice.amount, notice.readyAt);
    }

    // ---------------------------------------------------------------- allocations

    /// @notice Moves `amount` of the caller's free `token` balance into a hard deposit only `payee` can draw.
    function allocate(address payee, address token, uint256 amount) external {
        if (payee == address(0)) revert ZeroAddress();
        if (amount == 0) revert ZeroAmount();
        uint256 balance = _balances[msg.sender][token];
        if (amount > balance) revert InsufficientBalance(msg.sender, token, balance, amount);
        Channel storage channel = _channels[payee][token][msg.sender];
        uint256 total = uint256(channel.allocated) + amount;
        if (total > type(uint128).max) revert AmountTooLarge(total, type(uint128).max);
        _balances[msg.sender][token] = balance - amount;
        channel.allocated = uint128(total);
        emit Allocated(msg.sender, payee, token, amount, total);
    }

    /**
     * @notice Announces a decrease of `payee`'s allocation by `amount`, finalizable after
     * {withdrawDelay} and within {FINALIZE_WINDOW} after that; replaces a pending one and restarts
     * the clock.
     */
    function requestDeallocate(address payee, address token, uint256 amount) external {
        if (amount == 0) revert ZeroAmount();
        uint256 allocated = _channels[payee][token][msg.sender].allocated;
        if (amount > allocated) revert InsufficientBalance(msg.sender, token, allocated, amount);
        uint64 readyAt = uint64(block.timestamp) + _withdrawDelay;
        _deallocations[msg.sender][payee][token] = Notice(uint192(amount), readyAt);
        emit DeallocationRequested(msg.sender, payee, token, amount, readyAt);
    }

    /// @notice Drops the caller's pending (not lapsed) decrease of `payee`'s allocation in `token`.
    function cancelDeallocate(address payee, address token) external {
        if (!_live(_deallocations[msg.sender][payee][token])) revert NoPendingDeallocation(msg.sender, payee, token);
        delete _deallocations[msg.sender][payee][token];
        emit DeallocationCancelled(msg.sender, payee, token);
    }

    /**
     * @notice Returns the announced decrease (capped at what is left allocated) to the caller's free
     * balance, once matured and before it lapses.
     */
    function finalizeDeallocate(address payee, address token) external {
        Notice memory notice = _deallocations[msg.sender][payee][token];
        if (notice.readyAt == 0) revert NoPendingDeallocation(msg.sender, payee, token);
        _requireMatured(notice);
        delete _deallocations[msg.sender][payee][token];
        Channel storage channel = _channels[payee][token][msg.sender];
        uint128 allocated = channel.allocated;
        uint128 amount = notice.amount < allocated ? uint128(notice.amount) : allocated;
        channel.allocated = allocated - amount;
        _balances[msg.sender][token] += amount;
        emit Deallocated(msg.sender, payee, token, amount);
    }

    /// @notice What `payer` holds for `payee` in `token`, and a pending (not lapsed) decrease with its ready time.
    function allocation(address payer, address payee, address token)
        external
        view
        returns (uint256 amount, uint256 pendingDecrease, uint64 readyAt)
    {
        Notice memory notice = _deallocations[payer][payee][token];
        uint256 allocated = _channels[payee][token][payer].allocated;
        if (!_live(notice)) return (allocated, 0, 0);
        return (allocated, notice.amount, notice.readyAt);
    }

    // ---------------------------------------------------------------- internals

    /**
     * @dev Settles one cheque whose fields were checked: authorizes `recovered`, pays
     * `min(owed, allocation + free)` (the free part within the spending cap for delegated
     * signers), updates paidOut, allocation, free balance and the bounced flag. Earnings are
     * credited by the caller. Returns a reject reason instead of reverting.
     */
    function _settle(address payer, address token, uint128 cumulative, address recovered, Channel storage channel)
        private
        returns (uint256 paid, uint256 shortfall, RejectReason reason)
    {
        if (recovered == address(0)) return (0, 0, RejectReason.BadSignature);
        bool capped;
        if (recovered != payer) {
            // the owner key needs no lookup; a delegated key is the current signer (unless its
            // revocation delay ran out) or the rotated-out/revoked one within its validity
            SignerSlot memory keys = _signer[payer];
            capped = keys.capped;
            if (
                recovered != keys.current
                    || (keys.currentValidUntil != 0 && block.timestamp > keys.currentValidUntil)
            ) {
                PreviousSignerSlot memory prev = _previousSigner[payer];
                if (recovered != prev.previous || block.timestamp > prev.validUntil) {
                    return (0, 0, RejectReason.UnauthorizedSigner);
                }
            }
        }

        // one SLOAD and one SSTORE of the packed (paidOut, allocated) slot
        Channel memory ch = channel;
        if (cumulative <= ch.paidOut) return (0, 0, RejectReason.NotNewer);

        unchecked {
            uint256 owed = cumulative - ch.paidOut;
            if (owed <= ch.allocated) {
                _storeChannel(channel, cumulative, ch.allocated - uint128(owed));
                return (owed, 0, RejectReason.None);
            }
            uint256 fromFree = owed - ch.allocated;
            uint256 free = _balances[payer][token];
            uint256 drawable = fromFree < free ? fromFree : free;
            if (capped && drawable != 0) drawable = _drawCap(payer, drawable);
            shortfall = fromFree - drawable;
            if (drawable != 0) _balances[payer][token] = free - drawable;
            paid = ch.allocated + drawable;
            // paid <= owed, so this stays below cumulative < 2^128
            _storeChannel(channel, ch.paidOut + uint128(paid), 0);
        }
        if (shortfall != 0) {
            SignerSlot storage keys_ = _signer[payer];
            if (!keys_.bounced) keys_.bounced = true;
        }
    }

    /// @dev Writes both halves of a channel in one SSTORE (paidOut is the low 128 bits).
    function _storeChannel(Channel storage channel, uint128 paidOut_, uint128 allocated) private {
        assembly ("memory-safe") {
            sstore(channel.slot, or(paidOut_, shl(128, allocated)))
        }
    }

    /**
     * @dev Takes up to `want` from `payer`'s spending cap for this period and returns what it may
     * draw. Applies an announced change that has taken effect, rolls the period in closed form.
     */
    function _drawCap(address payer, uint256 want) private returns (uint256 allowed) {
        SpendCap memory c = _caps[payer];
        CapChange memory change = _capChanges[payer];
        if (change.effectiveAt != 0 && block.timestamp >= change.effectiveAt) {
            c.cap = change.cap;
            c.period = change.period;
            if (c.periodStart == 0) c.periodStart = change.effectiveAt;
            _caps[payer] = c;
            delete _capChanges[payer];
        }
        if (c.cap == 0) return want;
        uint256 spent = _capSpent[payer];
        uint64 start = _currentPeriodStart(c);
        if (start != c.periodStart) {
            spent = 0;
            _caps[payer].periodStart = start;
        }
        uint256 left = c.cap > spent ? c.cap - spent : 0;
        allowed = want < left ? want : left;
        if (allowed != 0) _capSpent[payer] = spent + allowed;
    }

    /// @dev The cap as it applies now (an announced change that took effect included), without writing.
    function _effectiveCap(address payer) private view returns (SpendCap memory c) {
        c = _caps[payer];
        CapChange memory change = _capChanges[payer];
        if (change.effectiveAt != 0 && block.timestamp >= change.effectiveAt) {
            c.cap = change.cap;
            c.period = change.period;
            if (c.periodStart == 0) c.periodStart = change.effectiveAt;
        }
        if (c.cap != 0 && c.periodStart == 0) c.periodStart = uint64(block.timestamp);
    }

    /// @dev Start of the period containing now: periodStart + k·period (closed form, no loop).
    function _currentPeriodStart(SpendCap memory c) private view returns (uint64) {
        if (c.period == 0 || block.timestamp < c.periodStart + c.period) return c.periodStart;
        return uint64(block.timestamp - ((block.timestamp - c.periodStart) % c.period));
    }

    /// @dev A notice that can still be finalized (pending or matured, not lapsed).
    function _live(Notice memory notice) private view returns (bool) {
        return notice.readyAt != 0 && block.timestamp <= uint256(notice.readyAt) + FINALIZE_WINDOW;
    }

    function _requireMatured(Notice memory notice) private view {
        if (block.timestamp < notice.readyAt) revert NoticeNotElapsed(notice.readyAt, uint64(block.timestamp));
        uint64 expiredAt = notice.readyAt + FINALIZE_WINDOW;
        if (block.timestamp > expiredAt) revert NoticeLapsed(expiredAt, uint64(block.timestamp));
    }

    function _setTokenAllowed(address token, bool allowed) private {
        if (token == address(0)) revert ZeroAddress();
        TokenStatus status = _tokenStatus[token];
        if (allowed) {
            if (status == TokenStatus.Allowed) return;
            _tokenStatus[token] = TokenStatus.Allowed;
        } else {
            if (status == TokenStatus.Unknown) revert TokenNotListed(token);
            if (status == TokenStatus.Delisted) return;
            _tokenStatus[token] = TokenStatus.Delisted;
        }
        emit TokenAllowed(token, allowed);
    }

    function _requireDepositable(address token, uint256 amount) private view {
        if (_tokenStatus[token] != TokenStatus.Allowed) revert TokenNotAllowed(token);
        if (amount == 0) revert ZeroAmount();
        if (amount > type(uint128).max) revert AmountTooLarge(amount, type(uint128).max);
    }

    /// @dev Pulls exactly `amount` from `from`; fee-on-transfer and rebasing-down tokens revert.
    function _deposit(address payer, address token, address from, uint256 amount) private {
        _requireDepositable(token, amount);
        uint256 before = IERC20(token).balanceOf(address(this));
        IERC20(token).safeTransferFrom(from, address(this), amount);
        _checkReceived(token, before, amount);
        _credit(payer, token, amount);
    }

    function _checkReceived(address token, uint256 before, uint256 amount) private view {
        uint256 received = IERC20(token).balanceOf(address(this)) - before;
        if (received != amount) revert TransferAmountMismatch(token, amount, received);
    }

    /// @dev The one place deposits enter the books.
    function _credit(address payer, address token, uint256 amount) private {
        _balances[payer][token] += amount;
        emit Deposited(payer, token, amount);
    }

    function _chequeDigest(address payer, address payee, address token, uint128 cumulative)
        private
        view
        returns (bytes32 digest)
    {
        bytes32 typehash = CHEQUE_TYPEHASH;
        bytes32 structHash;
        assembly ("memory-safe") {
            let ptr := mload(0x40)
            mstore(ptr, typehash)
            mstore(add(ptr, 0x20), payer)
            mstore(add(ptr, 0x40), payee)
            mstore(add(ptr, 0x60), token)
            mstore(add(ptr, 0x80), cumulative)
            structHash := keccak256(ptr, 0xa0)
        }
        return _hashTypedDataV4(structHash);
    }

    /// @dev EIP-712 digest of a cheque with a domain separator computed once per batch.
    function _typedDigest(bytes32 domainSeparator, address payer, address payee, address token, uint128 cumulative)
        private
        pure
        returns (bytes32 digest)
    {
        bytes32 typehash = CHEQUE_TYPEHASH;
        assembly ("memory-safe") {
            let ptr := mload(0x40)
            mstore(ptr, typehash)
            mstore(add(ptr, 0x20), payer)
            mstore(add(ptr, 0x40), payee)
            mstore(add(ptr, 0x60), token)
            mstore(add(ptr, 0x80), cumulative)
            let structHash := keccak256(ptr, 0xa0)
            mstore(ptr, hex"1901")
            mstore(add(ptr, 0x02), domainSeparator)
            mstore(add(ptr, 0x22), structHash)
            digest := keccak256(ptr, 0x42)
        }
    }

    /// @dev ecrecover of an ERC-2098 (r, vs) signature; address(0) for high s or no key.
    function _recoverCompact(bytes32 digest, bytes32 r, bytes32 vs) private view returns (address recovered) {
        uint256 s = uint256(vs) & ((1 << 255) - 1);
        // EIP-2: s in the lower half only (the upper half is the malleable twin)
        if (s > 0x7FFFFFFFFFFFFFFFFFFFFFFFFFFFFFFF5D576E7357A4501DDFE92F46681B20A0) return address(0);
        uint256 v = (uint256(vs) >> 255) + 27;
        assembly ("memory-safe") {
            let ptr := mload(0x40)
            mstore(ptr, digest)
            mstore(add(ptr, 0x20), v)
            mstore(add(ptr, 0x40), r)
            mstore(add(ptr, 0x60), s)
            mstore(0x00, 0)
            // no output (invalid signature) leaves the zeroed scratch word: address(0)
            pop(staticcall(gas(), 1, ptr, 0x80, 0x00, 0x20))
            recovered := mload(0x00)
        }
    }

    /// @dev Recovers a 65-byte (r,s,v) or 64-byte ERC-2098 (r,vs) signature; address(0) when invalid
    /// (wrong length, high-s, or no key). v of 0/1 is read as 27/28.
    function _recover(bytes32 digest, bytes calldata signature) private pure returns (address recovered) {
        bytes32 r;
        bytes32 s;
        if (signature.length == 65) {
            uint8 v;
            assembly ("memory-safe") {
                r := calldataload(signature.offset)
                s := calldataload(add(signature.offset, 0x20))
                v := byte(0, calldataload(add(signature.offset, 0x40)))
            }
            if (v < 27) v += 27;
            (recovered,,) = ECDSA.tryRecover(digest, v, r, s);
        } else if (signature.length == 64) {
            assembly ("memory-safe") {
                r := calldataload(signature.offset)
                s := calldataload(add(signature.offset, 0x20))
            }
            (recovered,,) = ECDSA.tryRecover(digest, r, s);
        }
    }
}
