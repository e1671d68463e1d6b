// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.28;

/// @title IIdentityRegistry
/// @notice KYC whitelist of RepoNet: one identity per legal entity (LEI hash, jurisdiction, investor class,
/// KYC expiry, frozen flag) with one or more wallets. Tokens, the node's account rules and the repo engine ask
/// `isVerified(wallet)` before anything moves.
/// @dev Roles (OpenZeppelin AccessControl): `DEFAULT_ADMIN_ROLE` manages roles and system accounts,
/// `KYC_AGENT_ROLE` registers, updates and revokes identities and manages their wallets, `COMPLIANCE_ROLE`
/// freezes and unfreezes identities. A wallet belongs to at most one identity, ever at a time.
interface IIdentityRegistry {
    /// @notice The stored record of one legal entity.
    /// @param leiHash keccak256 of the entity's Legal Entity Identifier (never the LEI in clear).
    /// @param jurisdiction ISO 3166-1 alpha-2 country code, two upper-case ASCII letters, e.g. "GB".
    /// @param investorClass Operator-defined investor classification (e.g. 1 = bank, 2 = fund).
    /// @param kycExpiry Unix time at which KYC lapses; wallets are verified only while `block.timestamp < kycExpiry`.
    /// @param frozen True while compliance has frozen the identity.
    /// @param revoked True once the identity has been revoked; revocation is final.
    struct Identity {
        bytes32 leiHash;
        bytes2 jurisdiction;
        uint8 investorClass;
        uint64 kycExpiry;
        bool frozen;
        bool revoked;
    }

    /// @notice An identity was registered.
    event IdentityRegistered(
        uint256 indexed identityId, bytes32 indexed leiHash, bytes2 jurisdiction, uint8 investorClass, uint64 kycExpiry
    );
    /// @notice An identity's jurisdiction, class or KYC expiry changed.
    event IdentityUpdated(uint256 indexed identityId, bytes2 jurisdiction, uint8 investorClass, uint64 kycExpiry);
    /// @notice A wallet was linked to an identity.
    event WalletAdded(uint256 indexed identityId, address indexed wallet);
    /// @notice A wallet was unlinked from an identity.
    event WalletRemoved(uint256 indexed identityId, address indexed wallet);
    /// @notice An identity was revoked; its wallets are no longer verified.
    event IdentityRevoked(uint256 indexed identityId);
    /// @notice Compliance froze an identity.
    event IdentityFrozen(uint256 indexed identityId);
    /// @notice Compliance unfroze an identity.
    event IdentityUnfrozen(uint256 indexed identityId);
    /// @notice An account was added to or removed from the system accounts (e.g. the repo engine's escrow).
    event SystemAccountSet(address indexed account, bool enabled);

    /// @notice No identity has this id.
    error IdentityNotFound(uint256 identityId);
    /// @notice The identity is revoked and can no longer be changed.
    error IdentityAlreadyRevoked(uint256 identityId);
    /// @notice The identity is already frozen.
    error IdentityAlreadyFrozen(uint256 identityId);
    /// @notice The identity is not frozen.
    error IdentityNotFrozen(uint256 identityId);
    /// @notice The identity is frozen, so its wallets cannot be unlinked.
    error IdentityIsFrozen(uint256 identityId);
    /// @notice A live (unrevoked) identity already uses this LEI hash.
    error IdentityLeiAlreadyRegistered(bytes32 leiHash, uint256 identityId);
    /// @notice The LEI hash is zero.
    error IdentityInvalidLeiHash();
    /// @notice The jurisdiction is not two upper-case ASCII letters.
    error IdentityInvalidJurisdiction(bytes2 jurisdiction);
    /// @notice The KYC expiry is not in the future.
    error IdentityInvalidKycExpiry(uint64 kycExpiry);
    /// @notice Registration without any wallet.
    error IdentityNoWallets();
    /// @notice The wallet already belongs to an identity.
    error IdentityWalletAlreadyRegistered(address wallet, uint256 identityId);
    /// @notice The wallet belongs to no identity.
    error IdentityWalletNotRegistered(address wallet);
    /// @notice Removing the wallet would leave a live identity without any wallet.
    error IdentityLastWallet(uint256 identityId, address wallet);
    /// @notice The zero address cannot be a wallet or system account.
    error IdentityZeroAddress();

    /// @notice Registers a legal entity and links its wallets.
    /// @param leiHash keccak256 of the entity's LEI.
    /// @param jurisdiction ISO 3166-1 alpha-2 code, e.g. "GB".
    /// @param investorClass Operator-defined investor class.
    /// @param kycExpiry Unix time at which KYC lapses.
    /// @param wallets The entity's wallets (at least one).
    /// @return identityId The new identity's id (1-based, sequential).
    /// Requirements:
    /// - caller has `KYC_AGENT_ROLE`;
    /// - `leiHash` is nonzero and not used by another live (unrevoked) identity;
    /// - `jurisdiction` is two upper-case letters; `kycExpiry > block.timestamp`;
    /// - `wallets` is nonempty, without zero addresses, and none belongs to an identity.
    /// Emits `IdentityRegistered`, then one `WalletAdded` per wallet.
    function registerIdentity(
        bytes32 leiHash,
        bytes2 jurisdiction,
        uint8 investorClass,
        uint64 kycExpiry,
        address[] calldata wallets
    ) external returns (uint256 identityId);

    /// @notice Updates an identity's jurisdiction, investor class and KYC expiry (e.g. after KYC renewal).
    /// @param identityId The identity to update.
    /// @param jurisdiction ISO 3166-1 alpha-2 code.
    /// @param investorClass Operator-defined investor class.
    /// @param kycExpiry New Unix time at which KYC lapses.
    /// Requirements:
    /// - caller has `KYC_AGENT_ROLE`;
    /// - the identity exists and is not revoked;
    /// - `jurisdiction` is two upper-case letters; `kycExpiry > block.timestamp`.
    /// Emits `IdentityUpdated`.
    function updateIdentity(uint256 identityId, bytes2 jurisdiction, uint8 investorClass, uint64 kycExpiry) external;

    /// @notice Links another wallet to an identity.
    /// @param identityId The identity.
    /// @param wallet The wallet to link.
    /// Requirements:
    /// - caller has `KYC_AGENT_ROLE`;
    /// - the identity exists and is not revoked;
    /// - `wallet` is nonzero and belongs to no identity.
    /// Emits `WalletAdded`.
    function addWallet(uint256 identityId, address wallet) external;

    /// @notice Unlinks a wallet from its identity; it then counts as unverified (unless a system account).
    /// A frozen identity's wallets cannot be unlinked, so a freeze cannot be escaped by moving a wallet to
    /// another identity.
    /// @param wallet The wallet to unlink.
    /// Requirements:
    /// - caller has `KYC_AGENT_ROLE`;
    /// - `wallet` belongs to an identity, which is not frozen;
    /// - it is not the last wallet of a live (unrevoked) identity.
    /// Emits `WalletRemoved`.
    function removeWallet(address wallet) external;

    /// @notice Revokes an identity for good: its wallets stop being verified. Its wallets stay linked
    /// (so `identityOf` keeps answering) until removed; its LEI hash may then be registered again.
    /// @param identityId The identity to revoke.
    /// Requirements:
    /// - caller has `KYC_AGENT_ROLE`;
    /// - the identity exists and is not already revoked.
    /// Emits `IdentityRevoked`.
    function revokeIdentity(uint256 identityId) external;

    /// @notice Freezes an identity: its wallets stop being verified until unfrozen.
    /// @param identityId The identity to freeze.
    /// Requirements:
    /// - caller has `COMPLIANCE_ROLE`;
    /// - the identity exists, is not revoked and is not frozen.
    /// Emits `IdentityFrozen`.
    function freezeIdentity(uint256 identityId) external;

    /// @notice Unfreezes a frozen identity. A revoked identity may be unfrozen too (it stays unverified), so
    /// that its wallets can then be unlinked.
    /// @param identityId The identity to unfreeze.
    /// Requirements:
    /// - caller has `COMPLIANCE_ROLE`;
    /// - the identity exists and is frozen.
    /// Emits `IdentityUnfrozen`.
    function unfreezeIdentity(uint256 identityId) external;

    /// @notice Adds or removes a system account (such as the repo engine's escrow), which counts as verified
    /// without an identity.
    /// @param account The account.
    /// @param enabled True to add, false to remove.
    /// Requirements:
    /// - caller has `DEFAULT_ADMIN_ROLE`;
    /// - `account` is nonzero.
    /// Emits `SystemAccountSet`.
    function setSystemAccount(address account, bool enabled) external;

    /// @notice Whether `wallet` may hold and receive permissioned assets now.
    /// @param wallet The wallet to check.
    /// @return True for a system account, or for a wallet of a registered identity that is not revoked,
    /// not frozen and whose KYC has not expired (`block.timestamp < kycExpiry`).
    function isVerified(address wallet) external view returns (bool);

    /// @notice The identity a wallet belongs to.
    /// @param wallet The wallet.
    /// @return The identity id, or 0 if the wallet belongs to none.
    function identityOf(address wallet) external view returns (uint256);

    /// @notice Whether `account` is a system account.
    /// @param account The account.
    /// @return True if it is a system account.
    function isSystemAccount(address account) external view returns (bool);

    /// @notice The stored record of an identity.
    /// @param identityId The identity.
    /// @return The identity record.
    /// Requirements:
    /// - the identity exists (else `IdentityNotFound`).
    function getIdentity(uint256 identityId) external view returns (Identity memory);

    /// @notice The wallets currently linked to an identity (order not guaranteed).
    /// @param identityId The identity.
    /// @return The linked wallets.
    /// Requirements:
    /// - the identity exists (else `IdentityNotFound`).
    function walletsOf(uint256 identityId) external view returns (address[] memory);

    /// @notice The number of identities ever registered (the highest identity id).
    /// @return The count.
    function identityCount() external view returns (uint256);
}
