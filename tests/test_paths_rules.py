"""compiler/merge_plan and compiler/path_fixes (pure): the listing, the merge of a nested colour
folder and the owner/mode fixes of a managed path; and schemas/plan: a plan's counts and its
JSON form."""

from __future__ import annotations

from typing import Any

import pytest

from specctl.compiler.merge_plan import Entry, Listing, Move, Tree, clash_name, plan_merge
from specctl.compiler.path_fixes import Fix, PathFixes, plan_path_fixes, stale
from specctl.schemas.desired import DesiredPath
from specctl.schemas.plan import Action, Change, FieldChange, Plan, Step, StepName
from tests.test_permissions import DAY, NOW, D, F, L


def desired_path(**fields: object) -> DesiredPath:
    base: dict[str, object] = {
        "name": "uploads",
        "address": "path.uploads.blue",
        "color": "blue",
        "path": "uploads/blue",
        "kind": "directory",
        "uid": 0,
        "gid": 0,
        "mode": "0755",
        "subdirs": [],
        "files": [],
        "cleanup": None,
    }
    return DesiredPath.model_validate({**base, **fields})


def lines(desired: DesiredPath, tree: Tree | None, **kw: Any) -> list[str]:
    return [f.line(desired.path) for f in plan_path_fixes(desired, tree, now=NOW, **kw).fixes]


# The listing -------------------------------------------------------------------------------------


def test_a_listing_indexes_children_as_entries_are_added_moved_and_removed() -> None:
    listing = Listing({"": D, "a": D, "a/x": F})
    listing.add("b", D)
    listing.add("c/y", F)
    assert (listing.children(""), listing.children("c")) == (["a", "b"], ["y"])
    listing.move("a/x", "b/x")
    assert (listing.children("a"), listing.children("b")) == ([], ["x"])
    listing.remove("b/x")
    assert listing.children("b") == []
    assert sorted(listing.tree) == ["", "a", "b", "c/y"]


def test_the_subtree_of_a_folder_holds_every_entry_below_it() -> None:
    listing = Listing({"": D, "a": D, "a/p": D, "a/p/1": F, "a/q": D, "a/q/2": F, "b": F})
    assert sorted(listing.subtree("a")) == ["a", "a/p", "a/p/1", "a/q", "a/q/2"]


# The merge plan ----------------------------------------------------------------------------------


def test_a_moved_folder_takes_all_its_contents_along() -> None:
    tree: Tree = {"": D, "blue": D, "blue/x": D, "blue/x/p": D, "blue/x/q": F, "blue/x/p/1": F}
    merge = plan_merge(tree, "blue")
    assert merge.moves == [Move("blue/x", "x")]
    assert sorted(merge.tree) == ["", "x", "x/p", "x/p/1", "x/q"]


def test_a_folder_moved_by_the_collapse_moves_again_with_its_contents() -> None:
    tree: Tree = {"": D, "blue": D, "blue/blue": D, "blue/blue/x": D, "blue/blue/x/f": F}
    merge = plan_merge(tree, "blue")
    assert merge.moves == [Move("blue/blue/x", "blue/x"), Move("blue/x", "x")]
    assert sorted(merge.tree) == ["", "x", "x/f"]


def test_files_merge_into_an_empty_folder() -> None:
    tree: Tree = {"": D, "images": D, "blue": D, "blue/images": D, "blue/images/b.png": F}
    merge = plan_merge(tree, "blue")
    assert merge.moves == [Move("blue/images/b.png", "images/b.png")]
    assert merge.emptied == ["blue/images", "blue"]


def test_a_clash_inside_a_merged_folder_keeps_both_under_a_free_name_there() -> None:
    tree: Tree = {
        "": D,
        "a.from-nested.png": F,  # at the top, not in images/: no reason to skip the name
        "images": D,
        "images/a.png": F,
        "images/b.png": F,
        "images/b.from-nested.png": F,
        "images/data": F,
        "blue": D,
        "blue/images": D,
        "blue/images/a.png": F,
        "blue/images/b.png": F,
        "blue/images/data": F,
        "blue/images/data.from-nested": F,
    }
    merge = plan_merge(tree, "blue")
    assert merge.moves == [
        Move("blue/images/a.png", "images/a.from-nested.png", clash="images/a.png"),
        Move("blue/images/b.png", "images/b.from-nested-2.png", clash="images/b.png"),
        # data.from-nested is on its way from blue/images: the kept copy must not take its name.
        Move("blue/images/data", "images/data.from-nested-2", clash="images/data"),
        Move("blue/images/data.from-nested", "images/data.from-nested"),
    ]


@pytest.mark.parametrize(
    ("name", "n", "is_dir", "kept"),
    [
        ("notes.txt", 1, False, "notes.from-nested.txt"),
        ("notes.txt", 3, False, "notes.from-nested-3.txt"),
        ("archive.tar.gz", 1, False, "archive.tar.from-nested.gz"),
        ("photos.old", 1, True, "photos.old.from-nested"),
        ("photos.old", 2, True, "photos.old.from-nested-2"),
        ("data", 1, False, "data.from-nested"),
    ],
)
def test_the_kept_name_of_a_clash(name: str, n: int, is_dir: bool, kept: str) -> None:
    assert clash_name(name, n, is_dir=is_dir) == kept


def test_a_folder_with_a_dot_keeps_its_whole_name_on_a_clash() -> None:
    tree: Tree = {"": D, "photos.old": F, "blue": D, "blue/photos.old": D, "blue/photos.old/a": F}
    merge = plan_merge(tree, "blue")
    assert merge.moves == [Move("blue/photos.old", "photos.old.from-nested", clash="photos.old")]


# The fix plan ------------------------------------------------------------------------------------


def test_subdirs_sharing_a_parent_create_it_once() -> None:
    desired = desired_path(subdirs=["cache/small", "cache/big", "/thumbs/", "XL/"])
    assert lines(desired, {"": D}) == [
        "+ mkdir uploads/blue/cache (0:0 0755)",
        "+ mkdir uploads/blue/cache/small (0:0 0755)",
        "+ mkdir uploads/blue/cache/big (0:0 0755)",
        "+ mkdir uploads/blue/thumbs (0:0 0755)",
        "+ mkdir uploads/blue/XL (0:0 0755)",
    ]


def test_a_temp_file_exactly_as_old_as_the_limit_stays() -> None:
    tree: Tree = {
        "": D,
        "temp": D,
        "temp/edge.tmp": Entry("file", 0, 0, 0o644, NOW - DAY),
        "temp/old.tmp": Entry("file", 0, 0, 0o644, NOW - DAY - 1),
        "temp/old-dir": Entry("dir", 0, 0, 0o755, NOW - 2 * DAY),
    }
    assert stale(tree, "temp", older_than="24h", now=NOW) == ["temp/old.tmp"]


@pytest.mark.parametrize(
    ("subdir", "folder"),
    [("temp", "temp"), ("/temp/", "temp"), ("temp/", "temp"), ("/Xfer", "Xfer")],
)
def test_the_cleanup_folder_may_be_written_with_slashes(subdir: str, folder: str) -> None:
    desired = desired_path(cleanup={"subdir": subdir, "older_than": "1h"})
    tree: Tree = {"": D, folder: D, f"{folder}/old": Entry("file", 0, 0, 0o644, NOW - 7200)}
    assert lines(desired, tree) == [f"- remove uploads/blue/{folder}/old (temp file older than 1h)"]


def test_other_managed_paths_inside_are_skipped_and_the_rest_still_fixed() -> None:
    tree: Tree = {"": D, "certs": D, "certs/key.pem": F, "z": F}
    got = lines(desired_path(uid=7), tree, foreign=frozenset({"certs"}))
    assert got == ["~ chown uploads/blue 0:0 → 7:0", "~ chown uploads/blue/z 0:0 → 7:0"]


@pytest.mark.parametrize("tree", [{"": D}, {"": D, "temp": F}])
def test_a_cleanup_folder_that_is_not_a_folder_has_nothing_to_clean(tree: Tree) -> None:
    desired = desired_path(cleanup={"subdir": "temp", "older_than": "1h"})
    assert lines(desired, tree) == []


def test_a_file_path_is_owned_and_moded_as_itself_and_nothing_more() -> None:
    secret = desired_path(
        name="key",
        address="path.key",
        color="blue",
        path="app.key",
        kind="secret",
        mode="0600",
        uid=5,
        subdirs=["x"],
        cleanup={"subdir": "", "older_than": "1h"},
    )
    planned = plan_path_fixes(secret, {"": Entry("file", 0, 0, 0o644)}, now=NOW)
    assert planned.fixes == [
        Fix("chown", "", 5, 0, before="0:0"),
        Fix("chmod", "", mode=0o600, before="0644"),
    ]


@pytest.mark.parametrize(
    ("kind", "root", "problem"),
    [
        ("directory", L, "uploads/blue is a symlink, expected a directory; left alone"),
        (
            "directory",
            Entry("other", 0, 0, 0),
            "uploads/blue is a special file, expected a directory; left alone",
        ),
        ("secret", D, "uploads/blue is a directory, expected a regular file; left alone"),
        ("secret", L, "uploads/blue is a symlink, expected a regular file; left alone"),
    ],
)
def test_a_path_of_the_wrong_kind_is_left_alone(kind: str, root: Entry, problem: str) -> None:
    planned = plan_path_fixes(desired_path(kind=kind), {"": root}, now=NOW)
    assert (planned.fixes, planned.notes, planned.problems) == ([], [], [problem])


@pytest.mark.parametrize(
    ("entry", "problem"),
    [
        (L, "uploads/blue/images is a symlink, not a directory"),
        (Entry("other", 0, 0, 0), "uploads/blue/images is a special file, not a directory"),
    ],
)
def test_a_subdir_blocked_by_something_else_is_said(entry: Entry, problem: str) -> None:
    planned = plan_path_fixes(
        desired_path(subdirs=["images/small"]), {"": D, "images": entry}, now=NOW
    )
    assert planned.problems == [problem]
    assert planned.fixes == []


def test_the_conflicts_are_the_moves_that_kept_both() -> None:
    fixes = PathFixes(
        fixes=[
            Fix("move", "b/x", target="x.from-nested", clash="x"),
            Fix("move", "b/y", target="y"),
            Fix("chown", "x", clash="x"),
            Fix("move", "b/z", target="z.from-nested", clash="z"),
        ]
    )
    assert fixes.conflicts == 2


# The plan's counts and JSON form -----------------------------------------------------------------


def changes(kind: str, action: Action, n: int) -> list[Change]:
    return [Change(address=f"{kind}.{action.name}.{i}", action=action, kind=kind) for i in range(n)]  # type: ignore[arg-type]


def plan(**fields: Any) -> Plan:
    base: dict[str, Any] = {
        "project": "shop",
        "target": "green",
        "active": "blue",
        "active_state": "blue",
        "spec_hash": "s" * 8,
        "live_fingerprint": "l" * 8,
    }
    return Plan(**{**base, **fields})


def test_the_summary_counts_each_kind_of_change_once() -> None:
    every = [
        *changes("service", Action.CREATE, 1),
        *changes("shared", Action.CREATE, 1),
        *changes("proxy", Action.CREATE, 1),  # add: 3
        *changes("service", Action.UPDATE, 2),
        *changes("proxy", Action.REPLACE, 2),  # change: 4
        *changes("shared", Action.DELETE, 5),  # destroy: 5
        *changes("upstream", Action.SWITCH, 6),
        *changes("upstream", Action.UPDATE, 1),
        *changes("path", Action.CREATE, 3),
        *changes("path", Action.UPDATE, 4),
        *changes("path", Action.DELETE, 1),
        *changes("retire", Action.UPDATE, 8),
        *changes("retire", Action.DELETE, 1),
    ]
    assert plan(changes=every).summary() == {
        "add": 3,
        "change": 4,
        "destroy": 5,
        "switch": 6,
        "permission_fix": 7,
        "retire": 8,
    }
    assert [c.address for c in plan(changes=every).of_kind("shared", "proxy")] == [
        "shared.CREATE.0",
        "proxy.CREATE.0",
        "proxy.REPLACE.0",
        "proxy.REPLACE.1",
        *[f"shared.DELETE.{i}" for i in range(5)],
    ]


def test_a_plan_is_empty_without_changes_and_steps() -> None:
    step = Step(name=StepName.DEPLOY)
    assert plan().empty
    assert not plan(changes=changes("path", Action.UPDATE, 1)).empty
    assert not plan(steps=[step]).empty
    assert plan(steps=[step]).step(StepName.DEPLOY) is step
    assert plan(steps=[step]).step(StepName.SWITCH) is None


def test_the_json_form_of_a_plan() -> None:
    change = Change(
        address="green.service.web",
        action=Action.UPDATE,
        kind="service",
        fields=[FieldChange(key="image", before="app:1", after="app:2")],
        before={"image": "app:1"},
        after={"image": "app:2"},
        reason="image changed",
    )
    steps = [
        Step(name=StepName.DEPLOY, color="green", services=["web"], adopted={"db": "shop-db-1"}),
        Step(name=StepName.SWITCH, color="green", detail="to green", undo="switch back"),
    ]
    doc = plan(
        changes=[change],
        unchanged=3,
        warnings=["w"],
        notes=["n"],
        steps=steps,
        rollback=True,
    ).document()
    assert doc == {
        "format_version": 2,
        "project": "shop",
        "target": "green",
        "active": "blue",
        "active_state": "blue",
        "spec_hash": "ssssssss",
        "live_fingerprint": "llllllll",
        "changes": [
            {
                "address": "green.service.web",
                "action": "~",
                "kind": "service",
                "before": {"image": "app:1"},
                "after": {"image": "app:2"},
                "fields": [{"key": "image", "before": "app:1", "after": "app:2"}],
                "reason": "image changed",
            }
        ],
        "unchanged": 3,
        "warnings": ["w"],
        "notes": ["n"],
        "rollback": True,
        "steps": [
            {
                "name": "deploy",
                "color": "green",
                "detail": "",
                "undo": None,
                "services": ["web"],
                "remove": [],
                "leftovers": [],
                "recreate": [],
                "adopted": {"db": "shop-db-1"},
            },
            {
                "name": "switch",
                "color": "green",
                "detail": "to green",
                "undo": "switch back",
                "services": [],
                "remove": [],
                "leftovers": [],
                "recreate": [],
            },
        ],
        "summary": {
            "add": 0,
            "change": 1,
            "destroy": 0,
            "switch": 0,
            "permission_fix": 0,
            "retire": 0,
        },
    }
    assert type(doc["steps"][0]["name"]) is str  # plain JSON values, not the enum
    assert list(doc) == [
        "format_version",
        "project",
        "target",
        "active",
        "active_state",
        "spec_hash",
        "live_fingerprint",
        "changes",
        "unchanged",
        "warnings",
        "notes",
        "rollback",
        "steps",
        "summary",
    ]
