"""The blog's three models, over the tables `trellis migrate` made (so `managed = False`)."""
from django.db import models


class Author(models.Model):
    name = models.CharField(max_length=100)
    slug = models.SlugField(unique=True)
    bio = models.TextField()

    class Meta:
        managed = False
        db_table = "author"

    def __str__(self):
        return self.name


class Tag(models.Model):
    name = models.CharField(max_length=50)
    slug = models.SlugField(unique=True)
    about = models.TextField()  # Markdown

    class Meta:
        managed = False
        db_table = "tag"
        ordering = ["name", "id"]

    def __str__(self):
        return self.name


class Post(models.Model):
    title = models.CharField(max_length=200)
    slug = models.SlugField(unique=True)
    body = models.TextField()  # Markdown
    published = models.BooleanField(default=True)
    # Trellis stores a naive ISO-8601 text (`2020-01-01T00:00:00.005000`); read it as is.
    # Ordering on the text is ordering in time.
    created_at = models.CharField(max_length=32)
    author = models.ForeignKey(Author, on_delete=models.CASCADE)
    # Trellis's join table has Django's shape: post_tags (id, post_id, tag_id).
    tags = models.ManyToManyField(Tag, db_table="post_tags")

    class Meta:
        managed = False
        db_table = "post"
        ordering = ["-created_at", "-id"]

    def __str__(self):
        return self.title
