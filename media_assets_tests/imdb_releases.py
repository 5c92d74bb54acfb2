"""IMDb releases served by the local HTTP server, for the tests of the schedule and the release sensor."""

import datetime as dt
import gzip

from media_assets.sources.imdb_files import IMDB_FILES
from media_assets_tests.http_fixtures import LocalFileServer


def release_content(imdb_file, marker: str) -> bytes:
    """A valid gzipped IMDb file (the header line) whose bytes differ per `marker`."""
    return gzip.compress(f"{imdb_file.header_line}\n# {marker}\n".encode())


def serve_release(server: LocalFileServer, released_at: dt.datetime, marker: str, files=IMDB_FILES) -> None:
    """Replace `files` (all four by default) by a new release, Last-Modified one minute apart from `released_at`."""
    for minute, imdb_file in enumerate(files):
        server.set_file(
            f"/{imdb_file.file_name}",
            release_content(imdb_file, marker),
            last_modified=(released_at + dt.timedelta(minutes=minute)).timestamp(),
        )
