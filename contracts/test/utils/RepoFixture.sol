// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.28;

import {BondToken} from "../../src/BondToken.sol";
import {IRepoEngine} from "../../src/interfaces/IRepoEngine.sol";
import {RepoEngine} from "../../src/RepoEngine.sol";
import {RepoPosition} from "../../src/RepoPosition.sol";
import {ERC1271Wallet} from "../mocks/ERC1271Wallet.sol";
import {BaseFixture} from "./BaseFixture.sol";

/// @title RepoFixture
/// @notice BaseFixture plus a RepoEngine (registered as a system account), a second bond for substitution, funded
/// and approving parties (seller, buyer, a third verified party, an ERC-1271 wallet) and EIP-712 signing helpers.
/// @dev Default trade: EUR 1,000,000.00 (cash has 2 decimals) against 1,050,000 bond units (0 decimals, priced
/// 98.5 cents) at 3.5% ACT/360 with a 2% haircut: haircut-adjusted value EUR 1,013,565.00.
abstract contract RepoFixture is BaseFixture {
    uint256 internal constant PP = 1_000_000_00;
    uint256 internal constant COLLATERAL = 1_050_000;
    int256 internal constant RATE = 0.035e18;
    uint16 internal constant HAIRCUT = 200;
    uint256 internal constant MTA = 1_000_00;
    uint64 internal constant CURE = 1 days;
    uint64 internal constant GRACE = 2 days;
    uint64 internal constant NOTICE = 3 days;
    uint64 internal constant TERM = 30 days;
    uint256 internal constant BOND2_PRICE = 101e18;

    RepoEngine internal engine;
    RepoPosition internal position;
    BondToken internal bond2;
    ERC1271Wallet internal wallet;

    address internal seller;
    uint256 internal sellerKey;
    address internal buyer;
    uint256 internal buyerKey;
    address internal carol;
    uint256 internal carolKey;
    address internal walletOwner;
    uint256 internal walletOwnerKey;
    address internal outsider;
    uint256 internal outsiderKey;

    uint256 internal nextNonce = 1;

    function setUp() public virtual override {
        super.setUp();
        engine = new RepoEngine(registry, oracle, admin);
        position = RepoPosition(address(engine.position()));
        _addSystemAccount(address(engine));
        vm.label(address(engine), "RepoEngine");
        vm.label(address(position), "RepoPosition");

        bond2 = new BondToken(
            "OAT 3% 2034", "OAT34", "FR0011883966", 0, 0.03e18, T0 + 8 * 365 days, bondIssuer, registry, admin
        );
        _listTokens(address(engine), _fixtureTokens());

        (seller, sellerKey) = _verifiedAccount("seller");
        (buyer, buyerKey) = _verifiedAccount("buyer");
        (carol, carolKey) = _verifiedAccount("carol");
        (walletOwner, walletOwnerKey) = makeAddrAndKey("walletOwner");
        (outsider, outsiderKey) = makeAddrAndKey("outsider");
        wallet = new ERC1271Wallet(walletOwner);
        _verify(address(wallet));

        address[4] memory parties = [seller, buyer, carol, address(wallet)];
        for (uint256 i; i < parties.length; ++i) {
            _fund(parties[i]);
        }
        _refreshPrices();
    }

    /// @dev The fixture's cash token and both bonds (listed in its engine at setUp, in this order: indices 1, 2, 3).
    function _fixtureTokens() internal view returns (address[] memory tokens) {
        tokens = new address[](3);
        (tokens[0], tokens[1], tokens[2]) = (address(cash), address(bond), address(bond2));
    }

    /// @dev Mints cash and both bonds to `who` and approves the engine for all of them.
    function _fund(address who) internal {
        _mintCash(who, 100_000_000_00);
        _mintBond(who, 100_000_000);
        vm.prank(admin);
        bond2.mint(who, 100_000_000);
        vm.startPrank(who);
        cash.approve(address(engine), type(uint256).max);
        bond.approve(address(engine), type(uint256).max);
        bond2.approve(address(engine), type(uint256).max);
        vm.stopPrank();
    }

    /// @dev Re-posts both bond prices (the oracle's maximum age is a day).
    function _refreshPrices() internal {
        _setBondPrice(BOND_PRICE);
        _setPrice(address(bond2), address(cash), BOND2_PRICE);
    }

    /// @dev Moves time forward and re-posts prices.
    function _skip(uint256 dt) internal {
        vm.warp(block.timestamp + dt);
        _refreshPrices();
    }

    /// @dev Default terms between seller and buyer; `maturity` 0 = open repo.
    function _terms(uint64 maturity) internal returns (IRepoEngine.RepoTerms memory t) {
        t = IRepoEngine.RepoTerms({
            seller: seller,
            buyer: buyer,
            cashToken: address(cash),
            purchasePrice: PP,
            rate: RATE,
            dayCountBasis: 360,
            startTime: uint64(block.timestamp),
            maturity: maturity,
            noticePeriod: NOTICE,
            collateralToken: address(bond),
            collateralAmount: COLLATERAL,
            haircutBps: HAIRCUT,
            minTransferAmount: MTA,
            marginCurePeriod: CURE,
            gracePeriod: GRACE,
            nonce: nextNonce++,
            deadline: uint64(block.timestamp + 1 hours)
        });
    }

    /// @dev EIP-712 signature (r ‖ s ‖ v) by `key` of the struct hash under the engine's domain.
    function _sign(uint256 key, bytes32 structHash) internal view returns (bytes memory) {
        (uint8 v, bytes32 r, bytes32 s) = vm.sign(key, engine.hashTypedData(structHash));
        return abi.encodePacked(r, s, v);
    }

    function _signTerms(uint256 key, IRepoEngine.RepoTerms memory t) internal view returns (bytes memory) {
        return _sign(key, engine.hashTerms(t));
    }

    function _signEarly(uint256 key, uint256 repoId, uint256 nonce, uint64 deadline)
        internal
        view
        returns (bytes memory)
    {
        return _sign(key, engine.hashEarlyRepurchase(repoId, nonce, deadline));
    }

    function _signSubstitution(
        uint256 key,
        uint256 repoId,
        address token,
        uint256 amount,
        uint256 nonce,
        uint64 deadline
    ) internal view returns (bytes memory) {
        return _sign(key, engine.hashSubstitution(repoId, token, amount, nonce, deadline));
    }

    function _signAmendment(uint256 key, IRepoEngine.Amendment memory a) internal view returns (bytes memory) {
        return _sign(key, engine.hashAmendment(a));
    }

    /// @dev Opens `t`, signed by the seller's and buyer's fixture keys.
    function _open(IRepoEngine.RepoTerms memory t) internal returns (uint256) {
        return engine.open(t, _signTerms(sellerKey, t), _signTerms(buyerKey, t));
    }

    function _openOpenRepo() internal returns (uint256) {
        return _open(_terms(0));
    }

    function _openTermRepo() internal returns (uint256) {
        return _open(_terms(uint64(block.timestamp) + TERM));
    }

    function _amendment(uint256 repoId, uint8 kind, uint64 newMaturity, int256 newRate)
        internal
        returns (IRepoEngine.Amendment memory)
    {
        return IRepoEngine.Amendment({
            repoId: repoId,
            kind: kind,
            newMaturity: newMaturity,
            newRate: newRate,
            nonce: nextNonce++,
            deadline: uint64(block.timestamp + 1 hours)
        });
    }

    /// @dev Reference PD, computed without mulDiv (inputs small enough for plain 256-bit products): ceil for a
    /// positive rate, −floor(|PD|) for a negative one.
    function _refPD(uint256 pp, int256 rate, uint16 basis, uint256 elapsed) internal pure returns (int256) {
        uint256 absRate = rate >= 0 ? uint256(rate) : uint256(-rate);
        uint256 numerator = pp * absRate * elapsed;
        uint256 denominator = uint256(basis) * 86_400 * 1e18;
        if (rate >= 0) return int256((numerator + denominator - 1) / denominator);
        return -int256(numerator / denominator);
    }

    /// @dev Haircut-adjusted value of `amount` of the bond at `price`, as the engine must compute it.
    function _refAdjusted(uint256 amount, uint256 price, uint16 haircut) internal pure returns (uint256) {
        return (amount * price / 1e18) * (10_000 - haircut) / 10_000;
    }

    /// @dev Expects the next call to revert with a custom error of the engine.
    function _expectRevert(bytes memory data) internal {
        vm.expectRevert(data);
    }
}
