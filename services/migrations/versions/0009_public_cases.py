"""public cases: a staff member's switch that publishes a case's description, place text and photos

The case itself (category, status, dates, coordinates rounded to about 50 m) of a kind marked
``open_data`` in knowledge/kinds.yaml is always in the Open311 API and on /public; the switch adds
the resident's own words and photos (docs/open311.md).

Revision ID: 0009
Revises: 0008
"""
from alembic import op
import sqlalchemy as sa


revision = '0009'
down_revision = '0008'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('submission', schema=None) as batch_op:
        batch_op.add_column(sa.Column('public', sa.Boolean(), nullable=False, server_default=sa.false()))
        batch_op.add_column(sa.Column('published_at', sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('published_by_id', sa.Integer(), nullable=True))
        batch_op.create_foreign_key('fk_submission_published_by_staff', 'staff', ['published_by_id'], ['id'])


def downgrade() -> None:
    with op.batch_alter_table('submission', schema=None) as batch_op:
        batch_op.drop_constraint('fk_submission_published_by_staff', type_='foreignkey')
        batch_op.drop_column('published_by_id')
        batch_op.drop_column('published_at')
        batch_op.drop_column('public')
