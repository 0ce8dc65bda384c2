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
        UnauthorizedSigner, // recovered key is not the owner, the signer, or the previous signer in grace
        NotNewer, // cumulativeAmount <= paidOut
        PayeeIsPayer // a cheque to oneself would turn the free balance into earnings: an instant withdrawal
    }

    /// @dev One slot: what a payee has been paid by a payer, and what the payer set aside for it.
    struct Channel {
        uint128 paidOut;
        uint128 allocated;
    }

    /// @dev Slot 1 of a payer's keys: the hot signer and the bounced flag.
    struct SignerSlot {
        address current;
        bool bounced;
    }

    /// @dev Slot 2 of a payer's keys: the rotated-out signer and until when it still counts.
    struct PreviousSignerSlot {
        address previous;
        uint64 validUntil;
    }

    /// @dev A requested decrease (withdrawal or deallocation) and when it can be finalized.
    struct Notice {
        uint192 amount;
        uint64 readyAt;
    }

    /// @dev Token lifecycle: deposits are open only while Allowed; claims and withdrawals keep
    /// working after delisting so no one's money is trapped.
    enum TokenStatus {
        Unknown,
        Allowed,
        Delisted
    }

    // ---------------------------------------------------------------- constants & state

    /// @notice EIP-712 type hash of {Cheque}.
    bytes32 public constant CHEQUE_TYPEHASH =
        keccak256("Cheque(address payer,address payee,address token,uint128 cumulativeAmount)");

    uint64 private immutable _withdrawDelay;

    mapping(address token => TokenStatus) private _tokenStatus;
    mapping(address payer => SignerSlot) private _signer;
    mapping(address payer => PreviousSignerSlot) private _previousSigner;
    mapping(address payer => mapping(address token => uint256)) private _balances;
    mapping(address payer => mapping(address payee => mapping(address token => Channel))) private _channels;
    mapping(address payee => mapping(address token => uint256)) private _earnings;
    mapping(address payer => mapping(address token => Notice)) private _withdrawals;
    mapping(address payer => mapping(address payee => mapping(address token => Notice))) private _deallocations;

    // ---------------------------------------------------------------- events

    event TokenAllowed(address indexed token, bool allowed);
    event Deposited(address indexed payer, address indexed token, uint256 amount);
    event SignerChanged(address indexed payer, address previous, address current, uint64 previousValidUntil);
    event ChequeClaimed(
        address indexed payer, address indexed payee, address indexed token, uint128 cumulativeAmount, uint256 paid
    );
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
    event Deallocated(address indexed payer, address indexed payee, address indexed token, uint256 amount);

    // ---------------------------------------------------------------- errors

    error TokenNotAllowed(address token);
    error ZeroAmount();
    error ZeroAddress();
    error AmountTooLarge(uint256 amount, uint256 max);
    error TransferAmountMismatch(address token, uint256 expected, uint256 received);
    error InsufficientBalance(address payer, address token, uint256 balance, uint256 needed);
    error NoPendingWithdrawal(address payer, address token);
    error NoPendingDeallocation(address payer, address payee, address token);
    error NoticeNotElapsed(uint64 readyAt, uint64 now_);
    error NothingToWithdraw(address payee, address token);
    error SignerRotationTooSoon(address previous, uint64 previousValidUntil);

    // ---------------------------------------------------------------- construction & admin

    /**
     * @param initialOwner admin (Ownable2Step) that may open and close tokens; it cannot move funds.
     * @param withdrawDelay_ notice in seconds before a withdrawal or deallocation can be finalized,
     *        and the grace period of a rotated-out signer (≥ 48 h in production).
     * @param tokens tokens open for deposits from the start.
     */
    constructor(address initialOwner, uint64 withdrawDelay_, address[] memory tokens)
        EIP712("BitCDNEscrow", "1")
        Ownable(initialOwner)
    {
        _withdrawDelay = withdrawDelay_;
        for (uint256 i = 0; i < tokens.length; ++i) {
            _setTokenAllowed(tokens[i], true);
        }
    }

    /**
     * @notice Opens (`allowed`) or closes a token for deposits. Closing never blocks claims or
     * withdrawals of money already held. Admin only.
     */
    function setTokenAllowed(address token, bool allowed) external onlyOwner {
        _setTokenAllowed(token, allowed);
    }

    /// @notice True while `token` is open for deposits.
    function isTokenAllowed(address token) external view returns (bool) {
        return _tokenStatus[token] == TokenStatus.Allowed;
    }

    /// @notice Notice period (seconds) for withdrawals, deallocations and signer rotation grace.
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
     * @notice Names `signer` as the caller's hot cheque-signing key (address(0) revokes it; the owner
     * key itself can always sign). The rotated-out signer stays valid for {withdrawDelay} so payees
     * holding its cheques have the same notice as for a withdrawal. A second rotation during that
     * grace period reverts with {SignerRotationTooSoon}, which would otherwise cut the grace short;
     * naming a signer when there is none (first time, or after revoking) is always allowed.
     */
    function setSigner(address signer) external {
        SignerSlot storage slot = _signer[msg.sender];
        PreviousSignerSlot storage prev = _previousSigner[msg.sender];
        address current = slot.current;
        if (current == signer) return;
        if (current == address(0)) {
            // Nothing to rotate out (first signer, or a new one after a revocation): the previous
            // signer keeps its grace untouched.
            slot.current = signer;
            emit SignerChanged(msg.sender, prev.previous, signer, prev.validUntil);
            return;
        }
        if (prev.previous != address(0) && block.timestamp <= prev.validUntil) {
            revert SignerRotationTooSoon(prev.previous, prev.validUntil);
        }
        uint64 validUntil = uint64(block.timestamp) + _withdrawDelay;
        prev.previous = current;
        prev.validUntil = validUntil;
        slot.current = signer;
        emit SignerChanged(msg.sender, current, signer, validUntil);
    }

    /// @notice `payer`'s current signer, the rotated-out one, and until when (unix s) the latter counts.
    function signerOf(address payer)
        external
        view
        returns (address current, address previous, uint64 previousValidUntil)
    {
        PreviousSignerSlot storage prev = _previousSigner[payer];
        return (_signer[payer].current, prev.previous, prev.validUntil);
    }

    /// @notice True once any cheque of `payer` was not fully covered at claim time.
    function bounced(address payer) external view returns (bool) {
        return _signer[payer].bounced;
    }

    // ---------------------------------------------------------------- cheques

    /// @notice The EIP-712 digest a payer's key signs for `cheque`.
    function chequeDigest(Cheque calldata cheque) external view returns (bytes32) {
        return _chequeDigest(cheque.payer, cheque.payee, cheque.token, cheque.cumulativeAmount);
    }

    /**
     * @notice Settles a batch of cheques. Anyone may call; money only moves into each cheque's
     * payee's {earnings}. Each row pays `min(cumulativeAmount - paidOut, allocation + free balance)`,
     * drawing the payee's allocation first. Rows never revert the batch (see {ChequeRejected},
     * {ChequeBounced}).
     * @return totalPaid sum of what all rows paid (in their own tokens' units).
     */
    function claim(SignedCheque[] calldata cheques) external nonReentrant returns (uint256 totalPaid) {
        ClaimCache memory cache;
        uint256 n = cheques.length;
        for (uint256 i = 0; i < n; ++i) {
            totalPaid += _claimRow(cheques[i], i, cache);
        }
        if (cache.earnings != 0) _earnings[cache.earningsPayee][cache.earningsToken] += cache.earnings;
    }

    /**
     * @dev Per-batch caches so a batch touches each storage slot as few times as it can: key
     * material is reloaded only when the payer changes, token status only when the token changes,
     * and earnings are written once per run of consecutive rows sharing payee and token.
     */
    struct ClaimCache {
        address payer;
        address signer;
        address previous;
        uint64 previousValidUntil;
        bool previousLoaded;
        address token;
        TokenStatus tokenStatus;
        address earningsPayee;
        address earningsToken;
        uint256 earnings;
    }

    /// @dev Settles one row of {claim}; returns what it paid. Never reverts on a bad row.
    function _claimRow(SignedCheque calldata row, uint256 i, ClaimCache memory cache) private returns (uint256 paid) {
        address payer = row.cheque.payer;
        address payee = row.cheque.payee;
        address token = row.cheque.token;
        uint128 cumulative = row.cheque.cumulativeAmount;

        if (payer == address(0) || payee == address(0)) {
            emit ChequeRejected(i, payer, payee, token, uint8(RejectReason.ZeroAddress));
            return 0;
        }
        if (payer == payee) {
            emit ChequeRejected(i, payer, payee, token, uint8(RejectReason.PayeeIsPayer));
            return 0;
        }
        if (token != cache.token) {
            cache.token = token;
            cache.tokenStatus = _tokenStatus[token];
        }
        if (cache.tokenStatus == TokenStatus.Unknown) {
            emit ChequeRejected(i, payer, payee, token, uint8(RejectReason.UnknownToken));
            return 0;
        }

        address recovered = _recover(_chequeDigest(payer, payee, token, cumulative), row.signature);
        if (recovered == address(0)) {
            emit ChequeRejected(i, payer, payee, token, uint8(RejectReason.BadSignature));
            return 0;
        }
        // The owner key needs no lookup; the signer slot is read once per run of rows of one payer,
        // and the rotated-out signer only when a row needs it.
        if (recovered != payer) {
            if (payer != cache.payer) {
                cache.payer = payer;
                cache.signer = _signer[payer].current;
                cache.previousLoaded = false;
            }
            if (recovered != cache.signer) {
                if (!cache.previousLoaded) {
                    PreviousSignerSlot storage prev = _previousSigner[payer];
                    cache.previous = prev.previous;
                    cache.previousValidUntil = prev.validUntil;
                    cache.previousLoaded = true;
                }
                if (
                    cache.previous == address(0) || recovered != cache.previous
                        || block.timestamp > cache.previousValidUntil
                ) {
                    emit ChequeRejected(i, payer, payee, token, uint8(RejectReason.UnauthorizedSigner));
                    return 0;
                }
            }
        }

        Channel storage channel = _channels[payer][payee][token];
        uint128 alreadyPaid = channel.paidOut;
        if (cumulative <= alreadyPaid) {
            emit ChequeRejected(i, payer, payee, token, uint8(RejectReason.NotNewer));
            return 0;
        }

        uint256 shortfall;
        unchecked {
            uint256 owed = cumulative - alreadyPaid;
            uint128 allocated = channel.allocated;
            if (owed <= allocated) {
                paid = owed;
                channel.allocated = allocated - uint128(owed);
                channel.paidOut = cumulative;
            } else {
                uint256 fromFree = owed - allocated;
                uint256 free = _balances[payer][token];
                if (fromFree > free) {
                    shortfall = fromFree - free;
                    fromFree = free;
                }
                if (fromFree != 0) _balances[payer][token] = free - fromFree;
                paid = allocated + fromFree;
                // paid <= owed, so this stays below cumulative < 2^128
                channel.paidOut = alreadyPaid + uint128(paid);
                channel.allocated = 0;
            }
        }

        if (paid != 0) {
            if (payee != cache.earningsPayee || token != cache.earningsToken) {
                if (cache.earnings != 0) _earnings[cache.earningsPayee][cache.earningsToken] += cache.earnings;
                cache.earningsPayee = payee;
                cache.earningsToken = token;
                cache.earnings = 0;
            }
            cache.earnings += paid;
            emit ChequeClaimed(payer, payee, token, cumulative, paid);
        }
        if (shortfall != 0) {
            SignerSlot storage keys = _signer[payer];
            if (!keys.bounced) keys.bounced = true;
            emit ChequeBounced(payer, payee, token, cumulative, shortfall);
        }
    }

    /// @notice What `payer` has paid `payee` in `token` through cheques, in total.
    function paidOut(address payer, address payee, address token) external view returns (uint128) {
        return _channels[payer][payee][token].paidOut;
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
     * @notice Announces a withdrawal of `amount` of `token`, finalizable after {withdrawDelay}. A new
     * request replaces a pending one and restarts the clock. The money stays claimable meanwhile.
     */
    function requestWithdraw(address token, uint256 amount) external {
        if (amount == 0) revert ZeroAmount();
        uint256 balance = _balances[msg.sender][token];
        if (amount > balance) revert InsufficientBalance(msg.sender, token, balance, amount);
        uint64 readyAt = uint64(block.timestamp) + _withdrawDelay;
        _withdrawals[msg.sender][token] = Notice(uint192(amount), readyAt);
        emit WithdrawRequested(msg.sender, token, amount, readyAt);
    }

    /// @notice Drops the caller's pending withdrawal of `token`.
    function cancelWithdraw(address token) external {
        if (_withdrawals[msg.sender][token].readyAt == 0) revert NoPendingWithdrawal(msg.sender, token);
        delete _withdrawals[msg.sender][token];
        emit WithdrawCancelled(msg.sender, token);
    }

    /**
     * @notice Pays the caller's pending withdrawal of `token` to the caller once the notice has
     * elapsed, capped at the free balance left (claims that landed meanwhile win).
     */
    function finalizeWithdraw(address token) external nonReentrant {
        Notice memory notice = _withdrawals[msg.sender][token];
        if (notice.readyAt == 0) revert NoPendingWithdrawal(msg.sender, token);
        if (block.timestamp < notice.readyAt) revert NoticeNotElapsed(notice.readyAt, uint64(block.timestamp));
        delete _withdrawals[msg.sender][token];
        uint256 balance = _balances[msg.sender][token];
        uint256 amount = notice.amount < balance ? notice.amount : balance;
        _balances[msg.sender][token] = balance - amount;
        emit WithdrawFinalized(msg.sender, token, amount);
        if (amount != 0) IERC20(token).safeTransfer(msg.sender, amount);
    }

    /// @notice `payer`'s pending withdrawal of `token` (0, 0 when none).
    function pendingWithdrawal(address payer, address token) external view returns (uint256 amount, uint64 readyAt) {
        Notice memory notice = _withdrawals[payer][token];
        return (notice.amount, notice.readyAt);
    }

    // ---------------------------------------------------------------- allocations

    /// @notice Moves `amount` of the caller's free `token` balance into a hard deposit only `payee` can draw.
    function allocate(address payee, address token, uint256 amount) external {
        if (payee == address(0)) revert ZeroAddress();
        if (amount == 0) revert ZeroAmount();
        uint256 balance = _balances[msg.sender][token];
        if (amount > balance) revert InsufficientBalance(msg.sender, token, balance, amount);
        Channel storage channel = _channels[msg.sender][payee][token];
        uint256 total = uint256(channel.allocated) + amount;
        if (total > type(uint128).max) revert AmountTooLarge(total, type(uint128).max);
        _balances[msg.sender][token] = balance - amount;
        channel.allocated = uint128(total);
        emit Allocated(msg.sender, payee, token, amount, total);
    }

    /// @notice Announces a decrease of `payee`'s allocation by `amount`; replaces a pending one and restarts the clock.
    function requestDeallocate(address payee, address token, uint256 amount) external {
        if (amount == 0) revert ZeroAmount();
        uint256 allocated = _channels[msg.sender][payee][token].allocated;
        if (amount > allocated) revert InsufficientBalance(msg.sender, token, allocated, amount);
        uint64 readyAt = uint64(block.timestamp) + _withdrawDelay;
        _deallocations[msg.sender][payee][token] = Notice(uint192(amount), readyAt);
        emit DeallocationRequested(msg.sender, payee, token, amount, readyAt);
    }

    /// @notice Returns the announced decrease (capped at what is left allocated) to the caller's free balance.
    function finalizeDeallocate(address payee, address token) external {
        Notice memory notice = _deallocations[msg.sender][payee][token];
        if (notice.readyAt == 0) revert NoPendingDeallocation(msg.sender, payee, token);
        if (block.timestamp < notice.readyAt) revert NoticeNotElapsed(notice.readyAt, uint64(block.timestamp));
        delete _deallocations[msg.sender][payee][token];
        Channel storage channel = _channels[msg.sender][payee][token];
        uint128 allocated = channel.allocated;
        uint128 amount = notice.amount < allocated ? uint128(notice.amount) : allocated;
        channel.allocated = allocated - amount;
        _balances[msg.sender][token] += amount;
        emit Deallocated(msg.sender, payee, token, amount);
    }

    /// @notice What `payer` holds for `payee` in `token`, and a pending decrease with its ready time.
    function allocation(address payer, address payee, address token)
        external
        view
        returns (uint256 amount, uint256 pendingDecrease, uint64 readyAt)
    {
        Notice memory notice = _deallocations[payer][payee][token];
        return (_channels[payer][payee][token].allocated, notice.amount, notice.readyAt);
    }

    // ---------------------------------------------------------------- internals

    function _setTokenAllowed(address token, bool allowed) private {
        if (token == address(0)) revert ZeroAddress();
        TokenStatus status = _tokenStatus[token];
        if (allowed) {
            _tokenStatus[token] = TokenStatus.Allowed;
        } else if (status != TokenStatus.Unknown) {
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
