"""identity: a session's last sighting is its newest refresh token's time

Every sign-in and every refresh issues a refresh token, so the newest token's issued_at is when
the device was last seen; the column that a refresh also had to update goes. The index on a
session's tokens gains issued_at, so the newest one is read from the index.

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-04 08:00:00.000000

"""
from alembic import op
import sqlalchemy as sa

# revision identifiers, used by Alembic.
revision = '0017'
down_revision = '0016'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('refresh_tokens', schema=None) as batch_op:
        batch_op.create_index('ix_refresh_tokens_session_id_issued_at', ['session_id', 'issued_at'], unique=False)
        batch_op.drop_index('ix_refresh_tokens_session_id')
    with op.batch_alter_table('sessions', schema=None) as batch_op:
        batch_op.drop_column('last_seen_at')


def downgrade():
    with op.batch_alter_table('sessions', schema=None) as batch_op:
        batch_op.add_column(sa.Column('last_seen_at', sa.DateTime(timezone=True), nullable=True))
    op.execute(
        "UPDATE sessions SET last_seen_at = COALESCE((SELECT MAX(issued_at) FROM refresh_tokens"
        " WHERE refresh_tokens.session_id = sessions.id), created_at)"
    )
    with op.batch_alter_table('sessions', schema=None) as batch_op:
        batch_op.alter_column('last_seen_at', existing_type=sa.DateTime(timezone=True), nullable=False)
    with op.batch_alter_table('refresh_tokens', schema=None) as batch_op:
        batch_op.create_index('ix_refresh_tokens_session_id', ['session_id'], unique=False)
        batch_op.drop_index('ix_refresh_tokens_session_id_issued_at')
