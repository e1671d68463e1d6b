"""The admin ceremony through the ``AdminMultisig`` and the ``AdminManager`` (contracts/CEREMONY.md).

An admin call (a role grant, an owner rotation, an admin setting) takes two multisig proposals: the first asks the
manager to *schedule* the call; once the delay has passed, the second asks it to *execute* the call. Each proposal
runs only with the threshold (two) of owners' approvals. The multisig is the caller the manager sees both times.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from eth_account.signers.local import LocalAccount
from eth_typing import ChecksumAddress
from web3 import Web3
from web3.logs import DISCARD

from contracts.deploy import contract, transact
from contracts.exceptions import DeploymentFailed
from contracts.governance import Governance


class Phase(StrEnum):
    SCHEDULE = "schedule"  # asks the manager to schedule an admin call
    EXECUTE = "execute"  # asks the manager to execute a scheduled admin call
    OTHER = "other"  # any other call (cancel, a raw call)


@dataclass(frozen=True)
class ProposalView:
    """A multisig proposal as an operator reads it."""

    id: int
    phase: Phase
    target: str  # the admin call's target (inside the manager call), or the proposal's own target
    data: str  # the admin call's data, hex
    executed: bool
    approvals: int
    threshold: int
    ready_at: int  # when the scheduled admin call may execute (0: not scheduled, executed or cancelled)


class Ceremony:
    def __init__(self, w3: Web3, governance: Governance) -> None:
        self.w3 = w3
        self.governance = governance
        self.manager = contract(w3, "AdminManager", governance.admin_manager)
        self.multisig = contract(w3, "AdminMultisig", governance.admin_multisig)

    def admin_call(self, name: str, address: str, function: str, *args: Any) -> tuple[ChecksumAddress, str]:
        """The ``(target, data)`` of an admin call: ``function(*args)`` on artifact ``name`` at ``address``."""
        target = contract(self.w3, name, address)
        data: str = target.encode_abi(function, args=list(args))
        return target.address, data

    def propose_schedule(self, owner: LocalAccount, target: str, data: str) -> int:
        """Phase 1: propose that the manager schedule ``data`` on ``target`` (the proposer approves it)."""
        call = self.manager.functions.schedule(Web3.to_checksum_address(target), bytes.fromhex(data[2:]), 0)
        return self._propose(owner, call)

    def propose_execute(self, owner: LocalAccount, schedule_id: int) -> int:
        """Phase 2: propose that the manager execute the admin call of the executed schedule proposal."""
        view = self.view(schedule_id)
        if view.phase is not Phase.SCHEDULE or not view.executed:
            raise DeploymentFailed("propose execute", f"proposal {schedule_id} is not an executed schedule proposal")
        call = self.manager.functions.execute(Web3.to_checksum_address(view.target), bytes.fromhex(view.data[2:]))
        return self._propose(owner, call)

    def propose_cancel(self, owner: LocalAccount, schedule_id: int) -> int:
        """Propose that the manager cancel the admin call a schedule proposal scheduled (two owners stop it)."""
        view = self.view(schedule_id)
        call = self.manager.functions.cancel(
            self.governance.admin_multisig, Web3.to_checksum_address(view.target), bytes.fromhex(view.data[2:])
        )
        return self._propose(owner, call)

    def approve(self, owner: LocalAccount, proposal_id: int) -> None:
        transact(self.w3, owner, self.multisig.functions.approve(proposal_id), f"approve proposal {proposal_id}")

    def execute(self, owner: LocalAccount, proposal_id: int) -> None:
        transact(self.w3, owner, self.multisig.functions.execute(proposal_id), f"execute proposal {proposal_id}")

    def view(self, proposal_id: int) -> ProposalView:
        target, data, executed, approvals = self.multisig.functions.proposal(proposal_id).call()
        threshold = int(self.multisig.functions.threshold().call())
        phase, inner_target, inner_data = Phase.OTHER, str(target), "0x" + bytes(data).hex()
        if Web3.to_checksum_address(target) == self.governance.admin_manager:
            fn, args = self.manager.decode_function_input(bytes(data))
            if fn.fn_name in ("schedule", "execute"):
                phase = Phase(fn.fn_name)
                inner_target, inner_data = str(args["target"]), "0x" + bytes(args["data"]).hex()
        ready_at = 0
        if phase is not Phase.OTHER:
            op = self.manager.functions.hashOperation(
                self.governance.admin_multisig, inner_target, bytes.fromhex(inner_data[2:])
            ).call()
            ready_at = int(self.manager.functions.getSchedule(op).call())
        return ProposalView(
            id=proposal_id,
            phase=phase,
            target=inner_target,
            data=inner_data,
            executed=bool(executed),
            approvals=int(approvals),
            threshold=threshold,
            ready_at=ready_at,
        )

    def _propose(self, owner: LocalAccount, call: Any) -> int:
        data = call._encode_transaction_data()
        propose = self.multisig.functions.propose(self.governance.admin_manager, bytes.fromhex(data[2:]))
        receipt = transact(self.w3, owner, propose, "propose")
        events = self.multisig.events.ProposalCreated().process_receipt(receipt, errors=DISCARD)
        return int(events[0]["args"]["id"])
