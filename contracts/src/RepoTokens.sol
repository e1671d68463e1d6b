// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.28;

/// @title RepoTokens
/// @notice The engine's table of the tokens its repos use, each interned once as a 16-bit index (1, 2, ...), so that
/// a repo stores its cash and collateral tokens in 32 bits instead of 320 (one fresh slot fewer at every open; a later
/// step that moves a token reads the table, one cold slot per token).
/// @dev In an ERC-7201 namespace, so that the engine and its extension ({RepoMigration}, run by DELEGATECALL) share
/// it without either's layout reaching it. Index 0 means "none". A token enters the table only by the engine admin's
/// `listToken` or with a repo migrated from the engine's predecessor (which the admin names), never by an open or a
/// substitution: two members could otherwise fill the 65,535 entries with tokens of their own and lock every new
/// instrument out. Entries are never removed.
library RepoTokens {
    /// @notice More than 65,535 distinct tokens were listed.
    error RepoTokenTableFull(address token);

    /// @notice A repo named a token the engine admin has not listed (`listToken`).
    error RepoTokenNotListed(address token);

    /// @custom:storage-location erc7201:reponet.storage.RepoTokens
    struct Table {
        uint16 count;
        mapping(uint16 index => address token) tokenAt;
        mapping(address token => uint16 index) indexOf;
        mapping(address cash => mapping(address collateral => uint32 indices)) pairOf;
    }

    /// @dev keccak256(abi.encode(uint256(keccak256("reponet.storage.RepoTokens")) - 1)) & ~bytes32(uint256(0xff))
    bytes32 private constant TABLE = 0x1116117c81bcc73de863ed9b104f97cc00f100abf3991900ae68807d04414500;

    /// @dev The token at `index` (zero for index 0 or one never assigned).
    function at(uint16 index) internal view returns (address) {
        return _table().tokenAt[index];
    }

    /// @dev The indices of a repo's cash and collateral tokens, from one word once the pair has been opened before (an
    /// open then reads one cold slot instead of two); looked up, and the pair recorded, at its first use. Reverts
    /// unless both were listed.
    function listedPair(address cash, address collateral)
        internal
        returns (uint16 cashIndex, uint16 collateralIndex)
    {
        Table storage t = _table();
        uint32 pair = t.pairOf[cash][collateral];
        if (pair != 0) return (uint16(pair), uint16(pair >> 16));
        cashIndex = _listed(t, cash);
        collateralIndex = _listed(t, collateral);
        t.pairOf[cash][collateral] = uint32(cashIndex) | (uint32(collateralIndex) << 16);
    }

    /// @dev The index of a listed `token`; reverts if it was never listed.
    function listed(address token) internal view returns (uint16) {
        return _listed(_table(), token);
    }

    /// @dev The index of `token`, assigning the next one at its first use.
    function intern(address token) internal returns (uint16) {
        return _intern(_table(), token);
    }

    /// @dev The index of `token` (0 if it was never interned).
    function indexOf(address token) internal view returns (uint16) {
        return _table().indexOf[token];
    }

    function _listed(Table storage t, address token) private view returns (uint16 index) {
        index = t.indexOf[token];
        if (index == 0) revert RepoTokenNotListed(token);
    }

    function _intern(Table storage t, address token) private returns (uint16 index) {
        index = t.indexOf[token];
        if (index != 0) return index;
        if (t.count == type(uint16).max) revert RepoTokenTableFull(token);
        // Cannot overflow: checked against the maximum above.
        unchecked {
            index = t.count + 1;
        }
        t.count = index;
        t.indexOf[token] = index;
        t.tokenAt[index] = token;
    }

    function _table() private pure returns (Table storage t) {
        assembly ("memory-safe") {
            t.slot := TABLE
        }
    }
}
