"""Unknown API paths answer in the API's own error shape, not an HTML page."""

import pytest


@pytest.mark.parametrize("method", ["get", "post", "delete"])
def test_unknown_api_paths_answer_json_404(client, method):
    response = getattr(client, method)("/api/no-such-thing/42")
    assert response.status_code == 404
    assert response.json() == {"message": "No such API endpoint.", "errors": {}}
