// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {ERC20} from "@openzeppelin/contracts/token/ERC20/ERC20.sol";

/**
 * @notice Attack token: on every transfer it calls back into a target (the escrow) with calldata set
 * by the attacker, e.g. `withdrawEarnings` or `finalizeWithdraw`, to try to drain it mid-operation.
 * It records whether the callback succeeded so tests can assert the guard stopped it.
 */
contract ReentrantToken is ERC20 {
    address public target;
    bytes public payload;
    bool public armed;
    bool public lastCallSucceeded;
    bytes public lastCallReturn;

    constructor() ERC20("Reentrant Token", "REENT") {}

    function decimals() public pure override returns (uint8) {
        return 6;
    }

    function mint(address to, uint256 amount) external {
        _mint(to, amount);
    }

    /// @notice Arms the next transfer to call `target_` with `payload_` once.
    function arm(address target_, bytes calldata payload_) external {
        target = target_;
        payload = payload_;
        armed = true;
    }

    /// @notice Lets the token act as an escrow user itself (payer or payee), so its callback has state to steal.
    function execute(address to, bytes calldata data) external returns (bytes memory) {
        (bool ok, bytes memory ret) = to.call(data);
        if (!ok) {
            assembly ("memory-safe") {
                revert(add(ret, 0x20), mload(ret))
            }
        }
        return ret;
    }

    function _update(address from, address to, uint256 value) internal override {
        super._update(from, to, value);
        if (armed && from != address(0)) {
            armed = false;
            (bool ok, bytes memory ret) = target.call(payload);
            lastCallSucceeded = ok;
            lastCallReturn = ret;
        }
    }
}
