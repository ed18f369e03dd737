"""Random sequences of registry actions against a Python model of the rules.

After every step: uses never exceed max uses, the contract's balance equals the fees credited and
not withdrawn, and every accepted or refused action is the one the rules predict — so no
publication outside its license is accepted and only an owner or a mandated agent changes a twin's
licenses."""
import ape
from ape import accounts, chain, project
from eth_account import Account
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, rule

from conftest import DAY, code, make_terms
from consentry import offers

FEE_CHOICES = [0, 10**12, 3 * 10**15]
PLACES = ["FR", "US", "JP"]
GUARD = 5  # seconds around a window boundary where the block time is not predicted exactly


class _Fixed:
    """Stands in for hypothesis' data object in the fixed opening moves."""

    def __init__(self, **picks):
        self.picks = picks

    def draw(self, strategy, label=None):
        return self.picks.get(label, 1)


class Registry(RuleBasedStateMachine):
    @initialize()
    def setup(self):
        self.snapshot = chain.snapshot()
        self.people = [accounts.test_accounts[i] for i in range(5)]
        self.reg = project.ConsentRegistry.deploy(sender=accounts.test_accounts[9])
        self.twins = {}  # id -> {"owner": idx, "withdrawn": bool}
        self.mandates = {}  # (twin, agent idx) -> (expiry, max_duration, channels, transforms, min_fee)
        self.licenses = {}  # id -> dict
        self.credited = {i: 0 for i in range(5)}
        self.paid_in = 0
        self.paid_out = 0
        self.nonces = {i: set() for i in range(5)}
        # an opening every run shares: a twin of person 0, licensed to person 1
        self.register(_Fixed(owner=0))
        self.grant(_Fixed(sender=0, licensee=1, days=30, channels=0b11, transforms=0b11, max_uses=0,
                          fee=FEE_CHOICES[1], signed=False, by_owner=True))

    def teardown(self):
        chain.restore(self.snapshot)

    # ---------------------------------------------------------------- helpers
    def now(self):
        return chain.pending_timestamp

    def live_mandate(self, twin, who, t):
        m = self.mandates.get((twin, who))
        return m if m and m[0] > t + GUARD else None

    # ---------------------------------------------------------------- rules
    def register(self, data):
        owner = data.draw(st.integers(0, 4), label='owner')
        self.reg.registerTwin(b"\x01" * 32, 2, b"\x02" * 32, "", sender=self.people[owner])
        self.twins[len(self.twins) + 1] = {"owner": owner, "withdrawn": False}

    def appoint(self, data):
        agent = data.draw(st.integers(0, 4), label='agent')
        sender = data.draw(st.integers(0, 4), label='sender')
        twin = data.draw(st.sampled_from(sorted(self.twins)))
        caps = (self.now() + 20 * DAY, 30 * DAY, 0b11, 0b11, 10**12)
        if sender != self.twins[twin]["owner"] or self.twins[twin]["withdrawn"]:
            with ape.reverts():
                self.reg.appointAgent(twin, self.people[agent], caps, sender=self.people[sender])
            return
        self.reg.appointAgent(twin, self.people[agent], caps, sender=self.people[sender])
        self.mandates[(twin, agent)] = caps

    def grant(self, data):
        sender = data.draw(st.integers(0, 4), label='sender')
        licensee = data.draw(st.integers(0, 4), label='licensee')
        days = data.draw(st.integers(1, 40), label='days')
        channels = data.draw(st.integers(1, 0b111), label='channels')
        transforms = data.draw(st.integers(0, 0b111), label='transforms')
        max_uses = data.draw(st.integers(0, 6), label='max_uses')
        fee = data.draw(st.sampled_from(FEE_CHOICES), label='fee')
        signed = data.draw(st.booleans(), label='signed')
        by_owner = data.draw(st.booleans(), label='by_owner')
        twin = data.draw(st.sampled_from(sorted(self.twins)))
        if by_owner:
            sender = self.twins[twin]["owner"]
        t = self.now()
        terms = make_terms(twin, self.people[licensee], t, days=days, max_uses=max_uses, fee=fee,
                           where=("EU", "US"))
        terms = terms[:2] + (channels, transforms) + terms[4:]
        owner = self.twins[twin]["owner"]
        if signed:
            nonce = data.draw(st.integers(0, 3))
            signer = Account.from_key(self.people[sender].private_key)
            sig = offers.sign(signer, dict(zip(offers.TERMS_KEYS, terms)), nonce, t + DAY, chain.chain_id,
                              self.reg.address)
            ok = sender == owner and nonce not in self.nonces[owner] and not self.twins[twin]["withdrawn"]
            call = lambda: self.reg.grantLicenseWithSignature(terms, nonce, t + DAY, sig,  # noqa: E731
                                                              sender=self.people[licensee])
        else:
            m = self.live_mandate(twin, sender, t)
            within = m is not None and days * DAY <= m[1] and channels & ~m[2] == 0 \
                and transforms & ~m[3] == 0 and fee >= m[4]
            if sender != owner and m is not None and m[0] - GUARD <= t <= m[0] + GUARD:
                return
            ok = (sender == owner or within) and not self.twins[twin]["withdrawn"]
            call = lambda: self.reg.grantLicense(terms, sender=self.people[sender])  # noqa: E731
        if not ok:
            with ape.reverts():
                call()
            return
        call()
        if signed:
            self.nonces[owner].add(nonce)
        lid = len(self.licenses) + 1
        self.licenses[lid] = {"twin": twin, "licensee": licensee, "channels": channels, "transforms": transforms,
                              "from": terms[5], "until": terms[6], "max": max_uses, "uses": 0, "fee": fee,
                              "revoked": False}
        assert self.reg.getLicense(lid).licensee == self.people[licensee].address

    def revoke(self, data):
        sender = data.draw(st.integers(0, 4), label='sender')
        notice = data.draw(st.sampled_from([0, 2 * DAY]), label='notice')
        lid = data.draw(st.sampled_from(sorted(self.licenses)))
        lic = self.licenses[lid]
        twin = lic["twin"]
        t = self.now()
        m = self.mandates.get((twin, sender))
        if abs(lic["until"] - t) <= GUARD or (m and abs(m[0] - t) <= GUARD):
            return  # too close to a boundary to predict the block's time exactly
        allowed = sender == self.twins[twin]["owner"] or self.live_mandate(twin, sender, t) is not None
        at = t + notice if notice else 0
        if not allowed or lic["until"] <= t:
            with ape.reverts():
                self.reg.revokeLicense(lid, at, sender=self.people[sender])
            return
        self.reg.revokeLicense(lid, at, sender=self.people[sender])
        new_until = self.reg.getLicense(lid).validUntil
        assert new_until <= lic["until"] and new_until >= t
        lic["until"], lic["revoked"] = new_until, True

    def withdraw_twin(self, data):
        sender = data.draw(st.integers(0, 4), label='sender')
        twin = data.draw(st.sampled_from(sorted(self.twins)))
        if sender != self.twins[twin]["owner"] or self.twins[twin]["withdrawn"]:
            with ape.reverts():
                self.reg.withdrawTwin(twin, 0, sender=self.people[sender])
            return
        self.reg.withdrawTwin(twin, 0, sender=self.people[sender])
        self.twins[twin]["withdrawn"] = True

    def publish(self, data):
        sender = data.draw(st.integers(0, 4), label='sender')
        channel = data.draw(st.integers(0, 3), label='channel')
        where = data.draw(st.sampled_from(PLACES), label='where')
        transforms = data.draw(st.integers(0, 0b1111), label='transforms')
        n = data.draw(st.integers(1, 4), label='n')
        comply = data.draw(st.booleans(), label='comply')
        lid = data.draw(st.sampled_from(sorted(self.licenses)))
        lic = self.licenses[lid]
        if comply:  # what a careful brand would send; the contract may still refuse (time, uses)
            sender = lic["licensee"]
            channel = data.draw(st.sampled_from([c for c in range(3) if lic["channels"] >> c & 1]))
            where = data.draw(st.sampled_from(["FR", "US"]))
            transforms &= lic["transforms"]
        t = self.now()
        if abs(lic["until"] - t) <= GUARD:
            return
        ok = (sender == lic["licensee"] and lic["from"] <= t < lic["until"]
              and not self.twins[lic["twin"]]["withdrawn"]
              and lic["channels"] >> channel & 1 and where in ("FR", "US")
              and transforms & ~lic["transforms"] == 0
              and (lic["max"] == 0 or lic["uses"] + n <= lic["max"]))
        hashes = [(1000 * lid + lic["uses"] + i).to_bytes(32, "big") for i in range(n)]
        args = (lid, channel, code(where), transforms, hashes, b"\x05" * 24 * n)
        if not ok:
            with ape.reverts():
                self.reg.publish(*args, value=lic["fee"] * n, sender=self.people[sender])
            return
        self.reg.publish(*args, value=lic["fee"] * n, sender=self.people[sender])
        lic["uses"] += n
        self.credited[self.twins[lic["twin"]]["owner"]] += lic["fee"] * n
        self.paid_in += lic["fee"] * n

    def withdraw_fees(self, data):
        who = data.draw(st.integers(0, 4), label='who')
        if self.credited[who] == 0:
            with ape.reverts(self.reg.NothingToWithdraw):
                self.reg.withdrawFees(sender=self.people[who])
            return
        self.reg.withdrawFees(sender=self.people[who])
        self.paid_out += self.credited[who]
        self.credited[who] = 0

    def advance(self, data):
        days = data.draw(st.integers(0, 12), label='days')
        hours = data.draw(st.integers(1, 23), label='hours')
        chain.pending_timestamp = self.now() + days * DAY + hours * 3600

    # Hypothesis' own rule choice (with swarm testing) rarely reaches deep sequences in a few
    # examples; one rule drawing a weighted action keeps every run busy with all of them.
    ACTIONS = ["register", "appoint", "grant", "grant", "revoke", "withdraw_twin", "publish", "publish",
               "publish", "withdraw_fees", "advance"]

    @rule(data=st.data())
    def step(self, data):
        getattr(self, data.draw(st.sampled_from(self.ACTIONS), label="action"))(data)

    # ---------------------------------------------------------------- invariants
    @invariant()
    def uses_within_max_and_counted(self):
        for lid, lic in self.licenses.items():
            on_chain = self.reg.getLicense(lid)
            assert on_chain.uses == lic["uses"]
            assert lic["max"] == 0 or on_chain.uses <= on_chain.maxUses

    @invariant()
    def fees_balance(self):
        for who, amount in self.credited.items():
            assert self.reg.balanceOf(self.people[who]) == amount
        assert self.reg.balance == self.paid_in - self.paid_out == sum(self.credited.values())


Registry.TestCase.settings = settings(max_examples=10, stateful_step_count=40, deadline=None,
                                      suppress_health_check=list(HealthCheck))
test_registry_rules_hold_under_random_sequences = Registry.TestCase
