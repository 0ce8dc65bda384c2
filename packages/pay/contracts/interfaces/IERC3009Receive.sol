// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

/**
 * @notice The part of EIP-3009 the escrow uses: `receiveWithAuthorization`, which (unlike
 * `transferWithAuthorization`) only the payee (`to`) may submit, so a deposit signature seen in the
 * mempool cannot be redirected or front-run into a plain transfer. Signature as `bytes` (65-byte
 * r,s,v), as in Circle's FiatToken v2.2 (native USDC).
 */
interface IERC3009Receive {
    function receiveWithAuthorization(
        address from,
        address to,
        uint256 value,
        uint256 validAfter,
        uint256 validBefore,
        bytes32 nonce,
        bytes calldata signature
    ) external;
}
