"""birth year instead of birth date

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-30 21:56:30.209322

A file kept the full birth date from the ID number; with the county code and
the gender it leaves about 500 candidates for the ID number. The ledger and the
statistics need the year only (docs/architecture.md, "Privacy by design").
Each existing row's year is taken from its date, then the date is dropped;
a downgrade can only give back 1 January of that year.
"""

from datetime import date

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

veterans = sa.table(
    "veterans",
    sa.column("birth_date", sa.Date()),
    sa.column("birth_year", sa.Integer()),
)


def upgrade() -> None:
    with op.batch_alter_table("veterans", schema=None) as batch_op:
        batch_op.add_column(sa.Column("birth_year", sa.Integer(), nullable=True))
    year = sa.cast(sa.extract("year", veterans.c.birth_date), sa.Integer)
    op.execute(veterans.update().values(birth_year=year))
    with op.batch_alter_table("veterans", schema=None) as batch_op:
        batch_op.alter_column("birth_year", existing_type=sa.Integer(), nullable=False)
        batch_op.drop_column("birth_date")


def downgrade() -> None:
    with op.batch_alter_table("veterans", schema=None) as batch_op:
        batch_op.add_column(sa.Column("birth_date", sa.DATE(), nullable=True))
    # The day was never kept: 1 January of the year stands in for it.
    connection = op.get_bind()
    years = connection.execute(sa.select(veterans.c.birth_year).distinct()).scalars().all()
    for year in years:
        op.execute(
            veterans.update()
            .where(veterans.c.birth_year == year)
            .values(birth_date=date(year, 1, 1))
        )
    with op.batch_alter_table("veterans", schema=None) as batch_op:
        batch_op.alter_column("birth_date", existing_type=sa.DATE(), nullable=False)
        batch_op.drop_column("birth_year")
