// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.37;

/// @notice Test helper (not deployed by the product): an ERC-20 that misbehaves on demand, to show that the
/// registry credits a model only with tokens it really received, and keeps the credit when paying out fails.
contract HostileToken {
    enum Mode {
        Honest, // an ordinary token
        ReturnsFalse, // transfer and transferFrom move nothing and return false
        FeeOnTransfer, // the recipient receives 1 % (and one unit) less than the amount
        ReturnsNothing, // moves the tokens and returns no value at all (like USDT)
        Reverts, // every transfer reverts
        Lies // returns true and moves nothing
    }

    Mode public mode;
    mapping(address account => uint256) public balanceOf;
    mapping(address owner => mapping(address spender => uint256)) public allowance;

    function setMode(Mode m) external {
        mode = m;
    }

    function mint(address to, uint256 amount) external {
        balanceOf[to] += amount;
    }

    function approve(address spender, uint256 amount) external returns (bool) {
        allowance[msg.sender][spender] = amount;
        return true;
    }

    function transfer(address to, uint256 amount) external returns (bool) {
        return _move(msg.sender, to, amount);
    }

    function transferFrom(address from, address to, uint256 amount) external returns (bool) {
        uint256 allowed = allowance[from][msg.sender];
        require(allowed >= amount, "allowance");
        allowance[from][msg.sender] = allowed - amount;
        return _move(from, to, amount);
    }

    function _move(address from, address to, uint256 amount) private returns (bool) {
        Mode m = mode;
        if (m == Mode.Reverts) revert("hostile token: no transfers");
        if (m == Mode.ReturnsFalse) return false;
        if (m == Mode.Lies) return true;
        require(balanceOf[from] >= amount, "balance");
        balanceOf[from] -= amount;
        uint256 fee = m == Mode.FeeOnTransfer ? amount / 100 + 1 : 0;
        balanceOf[to] += amount - fee;
        if (m == Mode.ReturnsNothing) {
            assembly {
                return(0, 0)
            }
        }
        return true;
    }
}
