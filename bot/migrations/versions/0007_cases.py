"""cases: the case workflow's timeline, deadlines, escalation and rating; erased files

Revision ID: 0007_cases
Revises: 0006
Create Date: 2026-11-30 23:45:31.424909
"""

from datetime import timedelta

import sqlalchemy as sa
from alembic import op

revision = "0007_cases"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "case_events",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("request_id", sa.Integer(), nullable=False),
        sa.Column("at", sa.DateTime(), nullable=False),
        sa.Column("actor", sa.String(length=8), nullable=False),
        sa.Column("staff_id", sa.Integer(), nullable=True),
        sa.Column("action", sa.String(length=8), nullable=False),
        sa.Column("from_status", sa.String(length=16), nullable=False),
        sa.Column("to_status", sa.String(length=16), nullable=False),
        sa.Column("station_id", sa.Integer(), nullable=True),
        sa.Column("public", sa.Boolean(), nullable=False),
        sa.Column("note_cipher", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(
            ["request_id"],
            ["help_requests.id"],
        ),
        sa.ForeignKeyConstraint(
            ["staff_id"],
            ["staff.id"],
        ),
        sa.ForeignKeyConstraint(
            ["station_id"],
            ["stations.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("case_events", schema=None) as batch_op:
        batch_op.create_index("ix_case_events_request", ["request_id", "id"], unique=False)

    with op.batch_alter_table("help_requests", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("kind", sa.String(length=8), nullable=False, server_default="求助")
        )
        batch_op.add_column(sa.Column("accept_due_at", sa.DateTime(), nullable=True))
        batch_op.add_column(sa.Column("resolve_due_at", sa.DateTime(), nullable=True))
        batch_op.add_column(sa.Column("paused_at", sa.DateTime(), nullable=True))
        batch_op.add_column(sa.Column("accepted_at", sa.DateTime(), nullable=True))
        batch_op.add_column(sa.Column("resolved_at", sa.DateTime(), nullable=True))
        batch_op.add_column(sa.Column("accept_escalated_at", sa.DateTime(), nullable=True))
        batch_op.add_column(sa.Column("escalated_to_id", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("rating", sa.String(length=8), nullable=True))
        batch_op.add_column(sa.Column("rated_at", sa.DateTime(), nullable=True))
        batch_op.create_index(
            batch_op.f("ix_help_requests_accept_due_at"), ["accept_due_at"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_help_requests_resolve_due_at"), ["resolve_due_at"], unique=False
        )
        batch_op.create_foreign_key(
            "fk_help_requests_escalated_to", "stations", ["escalated_to_id"], ["id"]
        )

    with op.batch_alter_table("veterans", schema=None) as batch_op:
        batch_op.add_column(sa.Column("erased_at", sa.DateTime(), nullable=True))

    # Statuses of the old list that the lifecycle no longer has (none was ever set:
    # nothing moved a request past 已提交), and the default deadlines (24 h to 签收,
    # 5 days to 办结) for requests filed before: they were never taken, and the SLA
    # check escalates them as it would any other.
    requests = sa.table(
        "help_requests",
        sa.column("id", sa.Integer),
        sa.column("status", sa.String),
        sa.column("created_at", sa.DateTime),
        sa.column("accept_due_at", sa.DateTime),
        sa.column("resolve_due_at", sa.DateTime),
    )
    for old, new in (("已回访/关闭", "已评价"), ("退回", "办理中"), ("转派", "已提交"), ("重开", "办理中")):
        op.execute(requests.update().where(requests.c.status == old).values(status=new))
    conn = op.get_bind()
    for row in conn.execute(sa.select(requests.c.id, requests.c.created_at)).all():
        conn.execute(
            requests.update()
            .where(requests.c.id == row.id)
            .values(
                accept_due_at=row.created_at + timedelta(hours=24),
                resolve_due_at=row.created_at + timedelta(days=5),
            )
        )


def downgrade() -> None:
    with op.batch_alter_table("veterans", schema=None) as batch_op:
        batch_op.drop_column("erased_at")

    with op.batch_alter_table("help_requests", schema=None) as batch_op:
        batch_op.drop_constraint("fk_help_requests_escalated_to", type_="foreignkey")
        batch_op.drop_index(batch_op.f("ix_help_requests_resolve_due_at"))
        batch_op.drop_index(batch_op.f("ix_help_requests_accept_due_at"))
        batch_op.drop_column("rated_at")
        batch_op.drop_column("rating")
        batch_op.drop_column("escalated_to_id")
        batch_op.drop_column("accept_escalated_at")
        batch_op.drop_column("resolved_at")
        batch_op.drop_column("accepted_at")
        batch_op.drop_column("paused_at")
        batch_op.drop_column("resolve_due_at")
        batch_op.drop_column("accept_due_at")
        batch_op.drop_column("kind")

    with op.batch_alter_table("case_events", schema=None) as batch_op:
        batch_op.drop_index("ix_case_events_request")

    op.drop_table("case_events")
