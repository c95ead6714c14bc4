"""publisher.ports.WeChatPort over the shared-token WeChat client."""

from __future__ import annotations

from bot.wechat.client import RetryLater, WeChatClient
from bot.wechat.errors import WeChatError
from publisher.ports import PublishError

IMAGE_TYPES = {".png": "image/png"}


class ClientPort:
    """publisher.ports.WeChatPort over the shared-token client."""

    def __init__(self, wechat: WeChatClient, veteran_tag: str):
        self.wechat = wechat
        self.veteran_tag = veteran_tag

    def _call(self, work):
        try:
            return work()
        except WeChatError as exc:  # bot.wechat.errors says whether it is worth another try
            wait = exc.wait if isinstance(exc, RetryLater) else None
            raise PublishError(exc.errcode, exc.explanation, exc.transient, wait) from exc

    def _files(self, data: bytes, filename: str) -> dict:
        mime = IMAGE_TYPES.get(filename[filename.rfind(".") :].lower(), "image/jpeg")
        return {"media": (filename, data, mime)}

    def upload_body_image(self, data: bytes, filename: str) -> str:
        """media/uploadimg: the image's mmbiz URL."""
        files = self._files(data, filename)
        return self._call(lambda: self.wechat.post("cgi-bin/media/uploadimg", files=files))["url"]

    def add_cover(self, data: bytes, filename: str) -> str:
        """material/add_material?type=image: the permanent material's media_id."""
        files = self._files(data, filename)
        path = "cgi-bin/material/add_material"
        return self._call(lambda: self.wechat.post(path, files=files, type="image"))["media_id"]

    def add_draft(self, article: dict) -> str:
        """draft/add: the draft's media_id."""
        body = {"articles": [article]}
        return self._call(lambda: self.wechat.post("cgi-bin/draft/add", body))["media_id"]

    def find_draft(self, content_source_url: str) -> str | None:
        """The newest of the 20 latest drafts whose 阅读原文 is this URL."""
        body = {"offset": 0, "count": 20, "no_content": 1}
        answer = self._call(lambda: self.wechat.post("cgi-bin/draft/batchget", body))
        for item in answer.get("item", []):
            news = (item.get("content") or {}).get("news_item") or []
            if any(n.get("content_source_url") == content_source_url for n in news):
                return item["media_id"]
        return None

    def find_published(self, content_source_url: str) -> str | None:
        """The URL of the newest of the 20 latest published articles whose 阅读原文 is this URL."""
        body = {"offset": 0, "count": 20, "no_content": 1}
        answer = self._call(lambda: self.wechat.post("cgi-bin/freepublish/batchget", body))
        for item in answer.get("item", []):
            news = (item.get("content") or {}).get("news_item") or []
            for article in news:
                url = article.get("content_source_url")
                if url == content_source_url and not article.get("is_deleted"):
                    return article.get("url") or None
        return None

    def submit(self, media_id: str) -> tuple[str, str]:
        """freepublish/submit: (publish_id, msg_data_id)."""
        body = {"media_id": media_id}
        answer = self._call(lambda: self.wechat.post("cgi-bin/freepublish/submit", body))
        return str(answer["publish_id"]), str(answer.get("msg_data_id", ""))

    def publish_status(self, publish_id: str) -> dict:
        """freepublish/get."""
        body = {"publish_id": publish_id}
        return self._call(lambda: self.wechat.post("cgi-bin/freepublish/get", body))

    def mass_send(self, media_id: str, tag_id: int, clientmsgid: str) -> str | None:
        """message/mass/sendall of the draft to a tag: the msg_id, the earlier one on a repeat."""
        message = {"msgtype": "mpnews", "mpnews": {"media_id": media_id}, "send_ignore_reprint": 0}
        return self._call(lambda: self.wechat.mass_send(tag_id, message, clientmsgid))

    def veterans_tag_id(self) -> int:
        """The veterans' tag, created if missing."""
        return self._call(lambda: self.wechat.ensure_tag(self.veteran_tag))
