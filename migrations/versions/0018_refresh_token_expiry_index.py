"""identity: an index on refresh_tokens.expires_at, for the sweep that deletes expired tokens

Every refresh leaves its used token behind; the sweep deletes tokens a day past their expiry
(all but each session's newest). Without an index each sweep would read the whole table. On
PostgreSQL the index is built CONCURRENTLY, outside the migration's transaction: a plain CREATE
INDEX would hold back every refresh while it builds on a large table. A concurrent build that was
interrupted leaves an invalid index of that name behind, so the upgrade drops one first and can
be run again.

Revision ID: 0018
Revises: 0017
Create Date: 2026-12-04 22:00:00.000000

"""
from alembic import op

# revision identifiers, used by Alembic.
revision = '0018'
down_revision = '0017'
branch_labels = None
depends_on = None


def _concurrently() -> bool:
    return op.get_bind().dialect.name == "postgresql"


def upgrade():
    if _concurrently():
        with op.get_context().autocommit_block():
            op.execute("DROP INDEX CONCURRENTLY IF EXISTS ix_refresh_tokens_expires_at")
            op.create_index(
                'ix_refresh_tokens_expires_at', 'refresh_tokens', ['expires_at'],
                unique=False, postgresql_concurrently=True,
            )
        return
    with op.batch_alter_table('refresh_tokens', schema=None) as batch_op:
        batch_op.create_index('ix_refresh_tokens_expires_at', ['expires_at'], unique=False)


def downgrade():
    if _concurrently():
        with op.get_context().autocommit_block():
            op.drop_index(
                'ix_refresh_tokens_expires_at', table_name='refresh_tokens',
                postgresql_concurrently=True,
            )
        return
    with op.batch_alter_table('refresh_tokens', schema=None) as batch_op:
        batch_op.drop_index('ix_refresh_tokens_expires_at')
