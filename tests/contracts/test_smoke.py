from tests.contracts.world import World


def test_founders_are_active_members_and_staff_is_permitted(world: World) -> None:
    c = world.consortium.functions
    assert c.isPermitted(world.addr("village")).call()
    assert c.isPermitted(world.addr("doc_county")).call()
    assert not c.isPermitted(world.addr("auditor")).call()
