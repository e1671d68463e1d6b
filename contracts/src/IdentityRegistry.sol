// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.28;

import {AccessControl} from "@openzeppelin/contracts/access/AccessControl.sol";
import {EnumerableSet} from "@openzeppelin/contracts/utils/structs/EnumerableSet.sol";
import {IIdentityRegistry} from "./interfaces/IIdentityRegistry.sol";

/// @title IdentityRegistry
/// @notice RepoNet's KYC whitelist: one identity per legal entity with one or more wallets. See
/// {IIdentityRegistry} for the rules; `isVerified` is what tokens, account rules and the repo engine ask.
contract IdentityRegistry is IIdentityRegistry, AccessControl {
    using EnumerableSet for EnumerableSet.AddressSet;

    /// @notice Registers, updates and revokes identities and manages their wallets.
    bytes32 public constant KYC_AGENT_ROLE = keccak256("KYC_AGENT_ROLE");
    /// @notice Freezes and unfreezes identities.
    bytes32 public constant COMPLIANCE_ROLE = keccak256("COMPLIANCE_ROLE");

    uint256 private _identityCount;
    mapping(uint256 identityId => Identity) private _identities;
    mapping(uint256 identityId => EnumerableSet.AddressSet) private _wallets;

    /// @dev A wallet's identity and its system-account flag in one slot, so that {isVerified} reads one word for
    /// the wallet (then the identity's) instead of two: every token transfer and repo step asks it.
    struct WalletRecord {
        uint128 identityId;
        bool system;
    }

    mapping(address wallet => WalletRecord) private _walletOf;
    mapping(bytes32 leiHash => uint256 identityId) private _identityOfLei;

    /// @notice Deploys the registry and grants every role to `admin`.
    /// @param admin The initial holder of `DEFAULT_ADMIN_ROLE`, `KYC_AGENT_ROLE` and `COMPLIANCE_ROLE`.
    constructor(address admin) {
        if (admin == address(0)) revert IdentityZeroAddress();
        _grantRole(DEFAULT_ADMIN_ROLE, admin);
        _grantRole(KYC_AGENT_ROLE, admin);
        _grantRole(COMPLIANCE_ROLE, admin);
    }

    /// @inheritdoc IIdentityRegistry
    function registerIdentity(
        bytes32 leiHash,
        bytes2 jurisdiction,
        uint8 investorClass,
        uint64 kycExpiry,
        address[] calldata wallets
    ) external onlyRole(KYC_AGENT_ROLE) returns (uint256 identityId) {
        if (leiHash == bytes32(0)) revert IdentityInvalidLeiHash();
        uint256 existing = _identityOfLei[leiHash];
        if (existing != 0 && !_identities[existing].revoked) {
            revert IdentityLeiAlreadyRegistered(leiHash, existing);
        }
        _validateTerms(jurisdiction, kycExpiry);
        if (wallets.length == 0) revert IdentityNoWallets();

        identityId = ++_identityCount;
        _identities[identityId] = Identity({
            leiHash: leiHash,
            jurisdiction: jurisdiction,
            investorClass: investorClass,
            kycExpiry: kycExpiry,
            frozen: false,
            revoked: false
        });
        _identityOfLei[leiHash] = identityId;
        emit IdentityRegistered(identityId, leiHash, jurisdiction, investorClass, kycExpiry);

        for (uint256 i = 0; i < wallets.length; ++i) {
            _addWallet(identityId, wallets[i]);
        }
    }

    /// @inheritdoc IIdentityRegistry
    function updateIdentity(uint256 identityId, bytes2 jurisdiction, uint8 investorClass, uint64 kycExpiry)
        external
        onlyRole(KYC_AGENT_ROLE)
    {
        Identity storage identity = _liveIdentity(identityId);
        _validateTerms(jurisdiction, kycExpiry);
        identity.jurisdiction = jurisdiction;
        identity.investorClass = investorClass;
        identity.kycExpiry = kycExpiry;
        emit IdentityUpdated(identityId, jurisdiction, investorClass, kycExpiry);
    }

    /// @inheritdoc IIdentityRegistry
    function addWallet(uint256 identityId, address wallet) external onlyRole(KYC_AGENT_ROLE) {
        _liveIdentity(identityId);
        _addWallet(identityId, wallet);
    }

    /// @inheritdoc IIdentityRegistry
    function removeWallet(address wallet) external onlyRole(KYC_AGENT_ROLE) {
        uint256 identityId = _walletOf[wallet].identityId;
        if (identityId == 0) revert IdentityWalletNotRegistered(wallet);
        Identity storage identity = _identities[identityId];
        if (identity.frozen) revert IdentityIsFrozen(identityId);
        EnumerableSet.AddressSet storage wallets = _wallets[identityId];
        if (!identity.revoked && wallets.length() == 1) {
            revert IdentityLastWallet(identityId, wallet);
        }
        wallets.remove(wallet);
        _walletOf[wallet].identityId = 0;
        emit WalletRemoved(identityId, wallet);
    }

    /// @inheritdoc IIdentityRegistry
    function revokeIdentity(uint256 identityId) external onlyRole(KYC_AGENT_ROLE) {
        Identity storage identity = _liveIdentity(identityId);
        identity.revoked = true;
        emit IdentityRevoked(identityId);
    }

    /// @inheritdoc IIdentityRegistry
    function freezeIdentity(uint256 identityId) external onlyRole(COMPLIANCE_ROLE) {
        Identity storage identity = _liveIdentity(identityId);
        if (identity.frozen) revert IdentityAlreadyFrozen(identityId);
        identity.frozen = true;
        emit IdentityFrozen(identityId);
    }

    /// @inheritdoc IIdentityRegistry
    function unfreezeIdentity(uint256 identityId) external onlyRole(COMPLIANCE_ROLE) {
        Identity storage identity = _existingIdentity(identityId);
        if (!identity.frozen) revert IdentityNotFrozen(identityId);
        identity.frozen = false;
        emit IdentityUnfrozen(identityId);
    }

    /// @inheritdoc IIdentityRegistry
    function setSystemAccount(address account, bool enabled) external onlyRole(DEFAULT_ADMIN_ROLE) {
        if (account == address(0)) revert IdentityZeroAddress();
        _walletOf[account].system = enabled;
        emit SystemAccountSet(account, enabled);
    }

    /// @inheritdoc IIdentityRegistry
    function isVerified(address wallet) external view returns (bool) {
        WalletRecord memory record = _walletOf[wallet];
        if (record.system) return true;
        uint256 identityId = record.identityId;
        if (identityId == 0) return false;
        Identity storage identity = _identities[identityId];
        // KYC expiry is a day-scale deadline; seconds of validator drift do not matter.
        // forge-lint: disable-next-line(block-timestamp)
        return !identity.revoked && !identity.frozen && block.timestamp < identity.kycExpiry;
    }

    /// @inheritdoc IIdentityRegistry
    function identityOf(address wallet) external view returns (uint256) {
        return _walletOf[wallet].identityId;
    }

    /// @inheritdoc IIdentityRegistry
    function isSystemAccount(address account) external view returns (bool) {
        return _walletOf[account].system;
    }

    /// @inheritdoc IIdentityRegistry
    function getIdentity(uint256 identityId) external view returns (Identity memory) {
        return _existingIdentity(identityId);
    }

    /// @inheritdoc IIdentityRegistry
    function walletsOf(uint256 identityId) external view returns (address[] memory) {
        _existingIdentity(identityId);
        return _wallets[identityId].values();
    }

    /// @inheritdoc IIdentityRegistry
    function identityCount() external view returns (uint256) {
        return _identityCount;
    }

    /// @dev Links `wallet` to `identityId` (which the caller has checked is live).
    function _addWallet(uint256 identityId, address wallet) private {
        if (wallet == address(0)) revert IdentityZeroAddress();
        WalletRecord storage record = _walletOf[wallet];
        uint256 current = record.identityId;
        if (current != 0) revert IdentityWalletAlreadyRegistered(wallet, current);
        // casting to 'uint128' is safe because identity ids count up from 1, one per registration
        // forge-lint: disable-next-line(unsafe-typecast)
        record.identityId = uint128(identityId);
        _wallets[identityId].add(wallet);
        emit WalletAdded(identityId, wallet);
    }

    /// @dev The identity, reverting `IdentityNotFound` if it was never registered.
    function _existingIdentity(uint256 identityId) private view returns (Identity storage identity) {
        if (identityId == 0 || identityId > _identityCount) revert IdentityNotFound(identityId);
        identity = _identities[identityId];
    }

    /// @dev The identity, reverting unless it exists and is not revoked.
    function _liveIdentity(uint256 identityId) private view returns (Identity storage identity) {
        identity = _existingIdentity(identityId);
        if (identity.revoked) revert IdentityAlreadyRevoked(identityId);
    }

    /// @dev Checks a jurisdiction (two upper-case ASCII letters) and a future KYC expiry.
    function _validateTerms(bytes2 jurisdiction, uint64 kycExpiry) private view {
        if (!_isUpperLetter(jurisdiction[0]) || !_isUpperLetter(jurisdiction[1])) {
            revert IdentityInvalidJurisdiction(jurisdiction);
        }
        // forge-lint: disable-next-line(block-timestamp)
        if (kycExpiry <= block.timestamp) revert IdentityInvalidKycExpiry(kycExpiry);
    }

    function _isUpperLetter(bytes1 char) private pure returns (bool) {
        return char >= 0x41 && char <= 0x5A;
    }
}
