// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.37;

import {ERC20} from "@openzeppelin/contracts/token/ERC20/ERC20.sol";
import {ERC20Permit} from "@openzeppelin/contracts/token/ERC20/extensions/ERC20Permit.sol";

/// @title Test USD Coin — a development token, never for a public chain
/// @notice An ERC-20 with USDC's name, symbol and 6 decimals for the embedded local chain and the tests,
/// so licenses can charge a stablecoin-like fee. Anyone may mint any amount: it has no value.
/// @dev OpenZeppelin Contracts 5.4.0 (npm, pinned in package.json): ERC20 with ERC20Permit (EIP-2612), so a
/// licensee can approve by signature. 5.5 and later import `Bytes` (MCOPY) into ERC20Permit's `Strings`, which
/// does not compile for the registry's EVM target (paris).
contract TestUSDC is ERC20, ERC20Permit {
    constructor() ERC20("Test USD Coin", "USDC") ERC20Permit("Test USD Coin") {}

    /// @notice USDC's 6 decimals: 1 USDC is 1,000,000 units.
    function decimals() public pure override returns (uint8) {
        return 6;
    }

    /// @notice Mints `amount` units to `to`; open to anyone (a development token).
    function mint(address to, uint256 amount) external {
        _mint(to, amount);
    }
}
