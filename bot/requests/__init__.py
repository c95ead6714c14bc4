"""Help requests (求助): what happens to a request once a veteran has filed it."""
