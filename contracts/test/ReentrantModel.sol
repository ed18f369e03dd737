// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.37;

import {IConsentRegistry} from "../IConsentRegistry.sol";

/// @notice Test helper (not deployed by the product): a "model" contract that tries to re-enter
/// withdrawFees when it receives its native-coin fees, or that refuses payments.
contract ReentrantModel {
    IConsentRegistry private immutable _registry;
    bool public reentered;
    bool public refusing;
    uint256 public received;

    constructor(IConsentRegistry registry) {
        _registry = registry;
    }

    function register(bytes32 root) external returns (uint256) {
        return _registry.registerTwin(root, 1, bytes32(0), "");
    }

    function grant(IConsentRegistry.Terms calldata terms) external returns (uint256) {
        return _registry.grantLicense(terms);
    }

    function refusePayments(bool yes) external {
        refusing = yes;
    }

    function withdraw() external {
        _registry.withdrawFees(address(0));
    }

    receive() external payable {
        require(!refusing, "refused");
        received += msg.value;
        try _registry.withdrawFees(address(0)) {
            reentered = true;
        } catch {}
    }
}
